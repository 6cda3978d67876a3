"""``affect-book``: run the notebooks with papermill, regenerate stored outputs, build
the HTML book.

affect-book run --profile book [-p KEY VALUE]... [--only NN]... [--name NAME]
affect-book build [--profile book] [--notebooks auto|run|committed] [--strict]
affect-book build --run NAME           # the book of one run (_build/runs/NAME)
affect-book compare RUN_A RUN_B [--json]   # glued values side by side ('stored': ours)
affect-book notebooks [--only NN]...   # re-execute sources into the stored .ipynb
affect-book student [--only NN]... [--out DIR]   # solutions -> # TODO (_build/student)
affect-book browser-check [--install]  # every page of _build/html in headless Chromium
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from affect_lib.config import PROFILES, ConfigError, text_keys

__all__ = ["main", "parse_value"]


_NONE = ("None", "none", "null", "~")


def parse_value(text: str) -> Any:
    """papermill-style typing of ``-p`` values: int, float, bool, None, lists (YAML),
    else str."""
    if text in _NONE:
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, bool | list | type(None)) else text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="affect-book",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run", help="execute the notebooks into _build/runs/<profile>/notebooks"
    )
    run.add_argument("--profile", required=True, help=f"one of {', '.join(PROFILES)}")
    run.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("KEY", "VALUE"),
        help="a config key or notebook parameter (repeatable), e.g. -p seed 3",
    )
    run.add_argument(
        "--only",
        action="append",
        metavar="NN",
        help="run only notebook NN (repeatable)",
    )
    run.add_argument(
        "--name",
        help="the run's folder under _build/runs (default: the profile, and the "
        "parameters if any, e.g. book-seed_3)",
    )
    build = sub.add_parser("build", help="build the HTML book into _build/html")
    build.add_argument(
        "--profile", default="book", help=f"one of {', '.join(PROFILES)} (default book)"
    )
    build.add_argument(
        "--notebooks",
        default="auto",
        choices=("auto", "run", "committed"),
        help="which executed notebooks to publish (default: the committed ones for "
        "book, "
        "the profile's run otherwise)",
    )
    build.add_argument(
        "--strict", action="store_true", help="Sphinx warnings are errors"
    )
    build.add_argument(
        "--run",
        help="build the book of this run (a name under _build/runs, or a folder)",
    )
    compare = sub.add_parser(
        "compare", help="every glued value of two runs side by side"
    )
    compare.add_argument("run_a", help="a run's name or folder, or 'stored'")
    compare.add_argument("run_b", help="a run's name or folder, or 'stored'")
    compare.add_argument("--json", action="store_true", help="print JSON rows")
    regen = sub.add_parser(
        "notebooks", help="re-execute notebooks/NN_*.py into their stored .ipynb"
    )
    regen.add_argument("--only", action="append", metavar="NN")
    student = sub.add_parser(
        "student",
        help="write student copies (solutions replaced by # TODO) to _build/student",
    )
    student.add_argument("--only", action="append", metavar="NN")
    student.add_argument(
        "--out", type=Path, help="output folder (default _build/student)"
    )
    check = sub.add_parser(
        "browser-check", help="open every page of the built book in headless Chromium"
    )
    check.add_argument("--html", type=Path, help="built book (default _build/html)")
    check.add_argument(
        "--screenshots",
        type=Path,
        help="screenshots and report.json (default _build/screenshots)",
    )
    check.add_argument(
        "--install",
        action="store_true",
        help="apt-get install chromium if none is found",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    from affect_lib.publish import run as book
    from affect_lib.publish.build import build
    from affect_lib.publish.exercises import StudentError
    from affect_lib.publish.notebooks import BookError
    from affect_lib.publish.regenerate import regenerate

    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            # `-p data_dir 2024` is a folder name, not the number 2024
            text = text_keys()
            params = {
                key: value
                if key.rpartition(".")[2] in text and value not in _NONE
                else parse_value(value)
                for key, value in args.parameter
            }
            result = book.run(args.profile, params, args.only, name=args.name)
            total = sum(result.timings.values())
            print(
                f"[affect-book] {len(result.timings)} notebook(s) in {total:.1f} s -> "
                f"{result.out_dir}"
            )
        elif args.command == "build":
            build(
                args.profile, notebooks=args.notebooks, strict=args.strict, run=args.run
            )
        elif args.command == "compare":
            from affect_lib.paths import project_root
            from affect_lib.publish.run_compare import main as compare_main

            print(compare_main(project_root(), args.run_a, args.run_b, args.json))
        elif args.command == "student":
            from affect_lib.publish.student import write_student_copies

            for path in write_student_copies(out=args.out, only=args.only):
                print(f"[affect-book] wrote {path}")
        elif args.command == "browser-check":
            from affect_lib.paths import project_root
            from affect_lib.publish.browser import run_cli

            build_dir = project_root() / "_build"
            return run_cli(
                args.html or build_dir / "html",
                args.screenshots or build_dir / "screenshots",
                install=args.install,
            )
        else:
            for path in regenerate(only=args.only):
                print(f"[affect-book] wrote {path}")
    except (ConfigError, BookError, StudentError) as exc:
        print(f"affect-book: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
