#!/usr/bin/env bash
# classify.sh MTC SOURCE WORK - the README's main job in small: examples/lenet.mt trained
# for one epoch on 256 Fashion-MNIST samples, its forward pass compiled with those weights,
# examples/classify.c built against the header and run on test images.
# Skips (77) without Debian's dataset-fashion-mnist, numpy or zlib's headers.
set -euo pipefail
mtc=$1 src=$2 work=$3
data=/usr/share/datasets/fashion-mnist
[ -f "$data/t10k-images-idx3-ubyte.gz" ] || { echo "classify: no Fashion-MNIST, skipped"; exit 77; }
[ -f /usr/include/zlib.h ] || { echo "classify: no zlib.h, skipped"; exit 77; }
/usr/bin/python3 -c "import numpy" 2>/dev/null || { echo "classify: no numpy, skipped"; exit 77; }
rm -rf "$work" && mkdir -p "$work"
# The first 256 training images as a safetensors data file (x scaled to [0,1], y one-hot).
/usr/bin/python3 - "$data" "$work/small.safetensors" <<'PY'
import gzip, json, struct, sys
import numpy as np
d, out = sys.argv[1], sys.argv[2]
x = np.frombuffer(gzip.open(d + "/train-images-idx3-ubyte.gz").read()[16:16 + 256 * 784], np.uint8)
y = np.frombuffer(gzip.open(d + "/train-labels-idx1-ubyte.gz").read()[8:8 + 256], np.uint8)
ts = [("x", (x.reshape(256, 784) / 255.0).astype("<f4")), ("y", np.eye(10, dtype="<f4")[y])]
h, blobs, off = {}, [], 0
for n, a in ts:
    r = a.tobytes()
    h[n] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(r)]}
    blobs.append(r)
    off += len(r)
hb = json.dumps(h).encode()
hb += b" " * (-len(hb) % 8)
open(out, "wb").write(struct.pack("<Q", len(hb)) + hb + b"".join(blobs))
PY
"$mtc" train --model "$src/examples/lenet.mt" --data "$work/small.safetensors" --epochs 1 \
    --optimizer adam --save "$work/w.safetensors" --quiet
"$mtc" compile "$src/examples/lenet_predict.mt" --weights "$work/w.safetensors" \
    -o "$work/liblenet_predict.so" --header "$work/lenet_predict.h"
cc -std=c11 -Wall -Wextra -Werror -I"$work" "$src/examples/classify.c" -L"$work" \
    -llenet_predict -lz -Wl,-rpath,"$work" -o "$work/classify"
"$work/classify" "$data/t10k-images-idx3-ubyte.gz" "$data/t10k-labels-idx1-ubyte.gz" 5 |
    grep "of 5 right" >/dev/null
echo "classify: 1 passed, 0 failed"
