#!/usr/bin/env python3
"""Writes testdata/models/hyp2f1_golden.csv: ln 2F1(a, b; c; z) at 50 significant digits (mpmath).

Run once from the repository root:  python3 benches/compare/mpmath_golden.py
It creates (or reuses) its own virtual environment in benches/compare/.venv-mpmath with mpmath,
re-executes itself inside it, and writes the CSV. The points cover the domains the BG/NBD and
Pareto/NBD models use: a = r + x, b = b + x (or s + 1, ...), c = a + b + x - 1 (or r + s + x + 1),
z = t / (alpha + T + t) or |alpha - beta| / (max(alpha, beta) + t), including large x and z near 1.
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(HERE, ".venv-mpmath")
ROOT = os.path.dirname(os.path.dirname(HERE))


def ensure_venv():
    py = os.path.join(VENV, "bin", "python")
    if os.path.abspath(sys.prefix) == os.path.abspath(VENV):
        return
    if not os.path.exists(py):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
        subprocess.check_call([py, "-m", "pip", "install", "--quiet", "mpmath==1.3.0"])
    os.execv(py, [py, os.path.abspath(__file__)] + sys.argv[1:])


def cases():
    # (a, b, c, z)
    out = []
    # BG/NBD at the CDNOW estimates r=0.243, alpha=4.414, a=0.793, b=2.426
    r, al, a, b = 0.243, 4.414, 0.793, 2.426
    for x in [0, 1, 2, 5, 26, 100, 1000]:
        for t, T in [(39.0, 38.86), (52.0, 31.0), (1.0, 30.0), (78.0, 0.0), (520.0, 10.0)]:
            c = a + b + x - 1
            if c <= 0:
                continue
            out.append((r + x, b + x, c, t / (al + T + t)))
    # BG/NBD at other parameters (a > 1, large b)
    for (r, al, a, b) in [(2.5, 0.7, 3.2, 40.0), (0.05, 12.0, 1.5, 0.3), (8.0, 100.0, 0.6, 5.0)]:
        for x in [0, 3, 50]:
            for z in [0.01, 0.3, 0.8, 0.97]:
                c = a + b + x - 1
                if c <= 0:
                    continue
                out.append((r + x, b + x, c, z))
    # Pareto/NBD likelihood shape: 2F1(r + s + x, s + 1 or r + x; r + s + x + 1; z)
    r, al, s, be = 0.553, 10.578, 0.606, 11.669
    for x in [0, 1, 7, 30, 200]:
        for z in [0.0, 0.02, 0.2, 0.6, 0.95]:
            out.append((r + s + x, s + 1, r + s + x + 1, z))
            out.append((r + s + x, r + x, r + s + x + 1, z))
    return out


def main():
    ensure_venv()
    import mpmath

    mpmath.mp.dps = 50
    path = os.path.join(ROOT, "testdata", "models", "hyp2f1_golden.csv")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("a,b,c,z,ln_hyp2f1\n")
        for a, b, c, z in cases():
            a, b, c, z = (float(v) for v in (a, b, c, z))
            v = mpmath.log(mpmath.hyp2f1(mpmath.mpf(a), mpmath.mpf(b), mpmath.mpf(c), mpmath.mpf(z)))
            f.write(f"{a!r},{b!r},{c!r},{z!r},{mpmath.nstr(v, 20)}\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
