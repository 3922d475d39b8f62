import torch
import math
import os

# A cubic fitted to sin(x) with bare tensors: autograd finds the gradients, the update is written by hand.
STEPS = int(os.environ.get("PROGRAM_STEPS", 2000))

x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

# Fixed starting coefficients (instead of torch.randn) so that every run prints the same numbers.
a = torch.tensor(0.4, requires_grad=True)
b = torch.tensor(-0.3, requires_grad=True)
c = torch.tensor(0.2, requires_grad=True)
d = torch.tensor(-0.1, requires_grad=True)

learning_rate = 1e-6
for t in range(STEPS):
    y_pred = a + b * x + c * x**2 + d * x**3
    loss = (y_pred - y).pow(2).sum()
    if t % 100 == 99:
        print(t, loss.item())

    loss.backward()

    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None

print(f"Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3")
