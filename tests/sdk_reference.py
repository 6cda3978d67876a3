"""The CMU-MultimodalSDK's interval intersection, ported literally: the reference the
alignment kernel and the whole CMU-MOSEI pipeline are tested against."""


def sdk_intersect(ref, sub, eps=1e-5):
    """A literal port of the SDK's ``__intersect_and_copy`` (after its stable sort by
    start)."""
    order = sorted(range(len(sub)), key=lambda x: sub[x, 0])
    out = []
    for i, (r0, r1) in enumerate(ref):
        if abs(r0 - r1) < eps:
            continue
        for j in order:
            s0, s1 = sub[j]
            if (r1 - s0) > -eps and (s1 - r0) > -eps:
                c0, c1 = max(s0, r0), min(s1, r1)
                if abs(c0 - c1) > eps:
                    out.append((i, j, c0, c1))
    return out
