"""``dse quality``: how well a layer format represents a given weight (post-training fidelity).

Example::

    dse quality --weights model.npz --key fc1 --format ttm --in-shape 4,8,8 --out-shape 4,8,8 --ranks 8
    dse quality --weights model.safetensors --key layers.0.mlp.up_proj.weight --transpose \\
                --format lowrank --ranks 64 --json

The weight is ``W[in_features, out_features]`` (``y = x W``); a PyTorch ``nn.Linear.weight`` is
stored ``[out, in]``: add ``--transpose``. The number is the relative Frobenius error
``||W - W_hat||_F / ||W||_F`` of the best approximation the format's own algorithm finds
(truncated SVD, TT-SVD, HOSVD, TR-SVD + TR-ALS, CP-ALS): **post-training fidelity of the
weight, not the accuracy** of a model trained in that format (which is usually far higher).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from dse import DSEError
from dse.quality import QUALITY_FORMATS, QualityError, weights_file_error

_FLAGS = {
    "weights": "--weights",
    "key": "--key",
    "format": "--format",
    "in_shape": "--in-shape",
    "out_shape": "--out-shape",
    "ranks": "--ranks",
    "max_iterations": "--max-iterations",
    "tol": "--tol",
    "seed": "--seed",
}
"""Argument of :func:`dse.quality.weights_file_error` -> its flag."""


class _CLIError(DSEError):
    """Bad command-line input."""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``dse quality``."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "quality",
        help="post-training fidelity of a weight in a layer format (relative Frobenius error; not accuracy)",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--weights", required=True, help="a .npz or .safetensors file")
    p.add_argument("--key", required=True, help="the tensor's name in the file")
    p.add_argument("--format", required=True, help="layer format: " + ", ".join(QUALITY_FORMATS))
    p.add_argument("--in-shape", help="factors of in_features, comma separated (formats with modes)")
    p.add_argument("--out-shape", help="factors of out_features, as many as --in-shape")
    p.add_argument(
        "--ranks",
        help="one rank, expanded by the format (tt: 1,r,..,r,1 over 2d modes; tr: a closed ring; tucker: r per "
        "mode; cp, lowrank, lora: r), or the format's full rank list, comma separated",
    )
    p.add_argument("--transpose", action="store_true", help="the stored tensor is [out, in] (PyTorch nn.Linear)")
    p.add_argument("--max-iterations", help="ALS sweep cap (cp: 500, tr: 100 by default)")
    p.add_argument("--seed", default="0", help="seed of the ALS initialisation (cp; default 0)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)
    return p


def _ints(text: str | None, flag: str) -> tuple[int, ...]:
    if text is None:
        return ()
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise _CLIError(f"{flag}: expected comma-separated integers, got {text!r}") from None
    if not values:
        raise _CLIError(f"{flag}: expected at least one integer")
    if any(v < 1 for v in values):
        raise _CLIError(f"{flag}: values must be >= 1, got {text!r}")
    return values


def _int(text: str, flag: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise _CLIError(f"{flag}: expected an integer >= {minimum}, got {text!r}") from None
    if value < minimum:
        raise _CLIError(f"{flag}: expected an integer >= {minimum}, got {value}")
    return value


def collect(args: argparse.Namespace) -> dict[str, Any]:
    """The report of ``dse quality`` (:meth:`dse.quality.QualityResult.to_dict`)."""
    ranks = _ints(args.ranks, "--ranks")
    try:
        result = weights_file_error(
            args.weights,
            args.key,
            fmt=args.format,
            in_shape=_ints(args.in_shape, "--in-shape"),
            out_shape=_ints(args.out_shape, "--out-shape"),
            ranks=None if not ranks else ranks[0] if len(ranks) == 1 else ranks,
            transpose=args.transpose,
            max_iterations=None if args.max_iterations is None else _int(args.max_iterations, "--max-iterations", 1),
            seed=_int(args.seed, "--seed", 0),
        )
    except QualityError as exc:
        raise _CLIError(f"{_FLAGS.get(exc.field, exc.field)}: {exc.expected}") from None
    report = result.to_dict()
    report["weights"] = str(args.weights)
    report["key"] = args.key
    report["transpose"] = bool(args.transpose)
    return report


def _table(r: dict[str, Any]) -> str:
    shape = f"{r['in_shape']} -> {r['out_shape']}" if r["in_shape"] else f"{r['dense_params']:,} entries"
    bound = "-" if r["error_bound"] is None else f"{r['error_bound']:.6g}"
    lines = [
        f"{r['weights']} [{r['key']}]{' (transposed)' if r['transpose'] else ''} as {r['format']} {shape}",
        f"  relative Frobenius error  {r['relative_error']:.6g}   (bound {bound})",
        "  = post-training fidelity of the weight, not the accuracy of a model trained in this format",
        f"  parameters                {r['params']:,} stored, {r['trainable_params']:,} trainable, "
        f"{r['dense_params']:,} dense (compression {r['compression']:.4g}x)",
        f"  ranks                     {r['ranks']} (filled by the data: {r['ranks_used']})",
        f"  algorithm                 {r['algorithm']}",
    ]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Print the fidelity of the weight in the format (bad input: one ``error:`` line, exit 2)."""
    report = collect(args)
    print(json.dumps(report, indent=2) if args.json else _table(report))
    return 0
