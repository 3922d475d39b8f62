import torch
import torch.nn as nn
from torch.distributions import Categorical

# REINFORCE on a corridor: the agent starts at the left end and is paid for reaching the right end.
# The policy samples its moves from a Categorical over the logits a small network computes.
torch.manual_seed(0)

N_CELLS, START, MAX_STEPS, GAMMA = 8, 0, 20, 0.9
LEFT, RIGHT = 0, 1


def step(cell, action):
    cell = max(cell - 1, 0) if action == LEFT else cell + 1
    done = cell == N_CELLS - 1
    return cell, (1.0 if done else -0.05), done


def one_hot(cell):
    x = torch.zeros(N_CELLS)
    x[cell] = 1.0
    return x


policy = nn.Sequential(nn.Linear(N_CELLS, 16), nn.Tanh(), nn.Linear(16, 2))
optimizer = torch.optim.Adam(policy.parameters(), lr=0.02)

returns_window = []
for episode in range(1, 101):
    cell, log_probs, rewards = START, [], []
    for t in range(MAX_STEPS):
        dist = Categorical(logits=policy(one_hot(cell)))
        action = dist.sample()
        log_probs.append(dist.log_prob(action))
        cell, reward, done = step(cell, action.item())
        rewards.append(reward)
        if done:
            break

    discounted, running = [], 0.0
    for reward in reversed(rewards):
        running = reward + GAMMA * running
        discounted.insert(0, running)
    discounted = torch.tensor(discounted)
    advantage = (discounted - discounted.mean()) / (discounted.std() + 1e-6) if len(rewards) > 1 else discounted
    loss = -(torch.stack(log_probs) * advantage).sum()

    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

    returns_window.append(sum(rewards))
    if episode % 20 == 0:
        print(f"episode {episode:3d}  steps {len(rewards):2d}  mean return {sum(returns_window) / len(returns_window):.3f}")
        returns_window = []

with torch.no_grad():
    probs = Categorical(logits=policy(torch.eye(N_CELLS))).probs
print("P(right) per cell:", [round(p, 3) for p in probs[:, RIGHT].tolist()])
print("entropy per cell:", Categorical(probs=probs).entropy())
print(Categorical(probs=probs[START]))
