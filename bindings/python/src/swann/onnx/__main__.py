"""python -m swann.onnx export MODEL.safetensors OUT.onnx [--opset N]
python -m swann.onnx import MODEL.onnx OUT.safetensors

export: a swann model file (or PyTorch safetensors swann reads) to ONNX.
import: an ONNX MLP to a swann model file (for swann.Model.load, or
swann.Net.load to fine-tune: the loss and optimizer are those a swann export
recorded in the file, else loss "none"). Exit status 0, or 1 with a one-line message.
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

import swann

from . import MIN_OPSET, export, import_model
from ._files import write_atomic


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m swann.onnx", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    e = sub.add_parser("export", help="swann model file -> ONNX")
    e.add_argument("model")
    e.add_argument("onnx")
    e.add_argument("--opset", type=int, default=MIN_OPSET, help="ONNX opset (default %(default)s)")
    i = sub.add_parser("import", help="ONNX MLP -> swann model file")
    i.add_argument("onnx")
    i.add_argument("model")
    args = ap.parse_args(argv)
    try:
        if args.command == "export":
            with swann.Model.load(args.model) as m:
                export(m, args.onnx, opset=args.opset)
        else:
            with import_model(args.onnx) as m:  # type: ignore[union-attr]
                write_atomic(args.model, m.to_bytes())
    except (ValueError, TypeError, OSError, swann.SwannError) as err:
        print("python -m swann.onnx %s: %s" % (args.command, err), file=sys.stderr)
        return 1
    print("wrote %s" % (args.onnx if args.command == "export" else args.model))
    return 0


if __name__ == "__main__":
    sys.exit(main())
