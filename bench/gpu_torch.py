"""gpu_torch.py - PyTorch CUDA's training step for bench/gpu.sh: the models of `mtc train`
(frontend/models.c) on random MNIST-shaped batches of 64 already on the device.

  python3 bench/gpu_torch.py mlp|lenet     prints `samples_s X` (exits 1 without torch+CUDA)

mlp: flatten -> linear 256 -> relu -> linear 128 -> relu -> linear 10; lenet: conv 5x5 8 ->
relu -> maxpool 2 -> conv 5x5 16 -> relu -> maxpool 2 -> linear 64 -> relu -> linear 10. Both
with cross entropy and SGD (lr 0.01), eager mode, 50 warm-up steps then 500 timed.
"""
import sys
import time

import torch
from torch import nn

if not torch.cuda.is_available():
    sys.exit(1)
dev = torch.device("cuda")
if sys.argv[1] == "mlp":
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128),
                          nn.ReLU(), nn.Linear(128, 10))
else:
    model = nn.Sequential(nn.Conv2d(1, 8, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 5),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(256, 64), nn.ReLU(),
                          nn.Linear(64, 10))
model = model.to(dev)
opt = torch.optim.SGD(model.parameters(), lr=0.01)
loss_fn = nn.CrossEntropyLoss()
x = torch.rand(64, 1, 28, 28, device=dev)
y = torch.randint(0, 10, (64,), device=dev)


def step():
    opt.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()


for _ in range(50):
    step()
torch.cuda.synchronize()
t = time.perf_counter()
steps = 500
for _ in range(steps):
    step()
torch.cuda.synchronize()
print("samples_s %.0f" % (steps * 64 / (time.perf_counter() - t)))
