import torch
import math
import os

# The cubic's four coefficients as the parameters of a small nn.Module, trained with torch.optim.SGD.
STEPS = int(os.environ.get("PROGRAM_STEPS", 2000))


class Polynomial3(torch.nn.Module):
    def __init__(self):
        super().__init__()
        # Fixed starting values (instead of torch.randn(())) so that every run prints the same numbers.
        self.a = torch.nn.Parameter(torch.tensor(-0.2))
        self.b = torch.nn.Parameter(torch.tensor(0.6))
        self.c = torch.nn.Parameter(torch.tensor(0.1))
        self.d = torch.nn.Parameter(torch.tensor(-0.3))

    def forward(self, x):
        return self.a + self.b * x + self.c * x**2 + self.d * x**3

    def string(self):
        return f"y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + {self.d.item()} x^3"


x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

model = Polynomial3()

criterion = torch.nn.MSELoss(reduction="sum")
optimizer = torch.optim.SGD(model.parameters(), lr=1e-6)
for t in range(STEPS):
    y_pred = model(x)

    loss = criterion(y_pred, y)
    if t % 100 == 99:
        print(t, loss.item())

    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

print(f"Result: {model.string()}")
