import torch
import math
import os

# The same linear model over (x, x^2, x^3), now updated by torch.optim.RMSprop.
STEPS = int(os.environ.get("PROGRAM_STEPS", 2000))

x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)

model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
# Fixed starting weights so that every run prints the same numbers.
with torch.no_grad():
    model[0].weight.copy_(torch.tensor([[0.5, -0.25, 0.1]]))
    model[0].bias.fill_(0.3)
loss_fn = torch.nn.MSELoss(reduction="sum")

learning_rate = 1e-3
optimizer = torch.optim.RMSprop(model.parameters(), lr=learning_rate)
for t in range(STEPS):
    y_pred = model(xx)

    loss = loss_fn(y_pred, y)
    if t % 100 == 99:
        print(t, loss.item())

    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

linear_layer = model[0]
w = linear_layer.weight
print(f"Result: y = {linear_layer.bias.item()} + {w[:, 0].item()} x + {w[:, 1].item()} x^2 + {w[:, 2].item()} x^3")
