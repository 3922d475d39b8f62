import torch
import math
import os

# The cubic as a linear layer over the features (x, x^2, x^3), trained with a hand-written SGD update.
STEPS = int(os.environ.get("PROGRAM_STEPS", 2000))

x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

powers = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(powers)  # (2000, 3)

model = torch.nn.Sequential(
    torch.nn.Linear(3, 1),
    torch.nn.Flatten(0, 1),
)
# Zero weights rather than the random default, so that every run prints the same numbers.
torch.nn.init.zeros_(model[0].weight)
torch.nn.init.zeros_(model[0].bias)

loss_fn = torch.nn.MSELoss(reduction="sum")

learning_rate = 1e-6
for t in range(STEPS):
    y_pred = model(xx)

    loss = loss_fn(y_pred, y)
    if t % 100 == 99:
        print(t, loss.item())

    model.zero_grad()
    loss.backward()

    with torch.no_grad():
        for param in model.parameters():
            param -= learning_rate * param.grad

linear_layer = model[0]
print(
    f"Result: y = {linear_layer.bias.item()} + {linear_layer.weight[:, 0].item()} x"
    f" + {linear_layer.weight[:, 1].item()} x^2 + {linear_layer.weight[:, 2].item()} x^3"
)
