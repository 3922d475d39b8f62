import torch
import math
import os
import random

# A net whose depth changes every step: 0 to 3 extra terms x^4/4!, x^5/5!, ... all share one coefficient e.
STEPS = int(os.environ.get("PROGRAM_STEPS", 2000))
random.seed(0)  # the same sequence of depths on every run


class DynamicNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        # Fixed starting values so that every run prints the same numbers.
        self.a = torch.nn.Parameter(torch.tensor(0.1))
        self.b = torch.nn.Parameter(torch.tensor(0.7))
        self.c = torch.nn.Parameter(torch.tensor(-0.1))
        self.d = torch.nn.Parameter(torch.tensor(-0.05))
        self.e = torch.nn.Parameter(torch.tensor(0.0))

    def forward(self, x):
        y = self.a + self.b * x + self.c * x**2 + self.d * x**3
        for exp in range(4, 4 + random.randint(0, 3)):
            y = y + self.e * x**exp / math.factorial(exp)
        return y

    def string(self):
        return (
            f"y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + {self.d.item()} x^3"
            f" + {self.e.item()} (x^4/4! ? + x^5/5! ? + x^6/6! ?)"
        )


x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

model = DynamicNet()

criterion = torch.nn.MSELoss(reduction="sum")
optimizer = torch.optim.SGD(model.parameters(), lr=1e-6, momentum=0.9)
for t in range(STEPS):
    y_pred = model(x)

    loss = criterion(y_pred, y)
    if t % 100 == 99:
        print(t, loss.item())

    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

print(f"Result: {model.string()}")
