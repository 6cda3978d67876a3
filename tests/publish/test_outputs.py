"""Stored outputs seen as nbval compares them, and the numbers printed in them."""

from nbformat.v4 import new_output

from affect_lib.publish.outputs import flatten, numbers
from tests.publish.notebook_files import glued


def test_numbers_keeps_words_with_digits_as_text():
    skel, toks = numbers(
        "acc 0.973 (n=600), -1.5e-05, AU12 mfcc_3 cell-011 x86_64 v2.1.0 nan"
    )
    assert toks == ["0.973", "600", "-1.5e-05", "nan"]
    assert skel == "acc {} (n={}), {}, AU12 mfcc_3 cell-011 x86_64 v2.1.0 {}"
    assert numbers("{'a': 1}") == ("{{'a': {}}}", ["1"])  # braces survive str.format
    assert numbers("{'a': 1}")[0].format("1") == "{'a': 1}"


def test_flatten_labels_outputs_as_nbval_compares_them():
    outs = [
        new_output("stream", name="stdout", text="a 1\n"),
        glued("x", "0.5"),
        new_output("stream", name="stdout", text="b 2\n"),
        new_output(
            "execute_result",
            data={"text/plain": "t", "text/html": "<b>3</b>", "image/png": "AAA"},
            execution_count=4,
        ),
    ]
    assert flatten(outs) == {
        "stdout#0": "a 1\nb 2\n",
        "application/papermill.record/text/plain#0": "0.5",
        "text/plain#0": "t",
        "text/html#0": "<b>3</b>",
    }
