import math
import random
from collections import deque, namedtuple

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

# Deep Q-learning in the style of the PyTorch DQN tutorial, on a small grid instead of a gym environment:
# a replay memory of namedtuples, an epsilon-greedy policy with exponential decay, a target network updated
# softly through state dicts, the Huber loss on gathered Q-values, AdamW with amsgrad and gradient value clipping.
random.seed(0)
torch.manual_seed(0)

SIZE = 4
GOAL = (SIZE - 1, SIZE - 1)
MOVES = [(0, 1), (1, 0), (0, -1), (-1, 0)]
Transition = namedtuple("Transition", ("state", "action", "next_state", "reward"))


class GridWorld:
    def reset(self):
        self.pos = (0, 0)
        self.steps = 0
        return self.observe()

    def observe(self):
        grid = torch.zeros(SIZE, SIZE)
        grid[self.pos] = 1.0
        return grid.flatten()

    def step(self, action):
        dr, dc = MOVES[action]
        r, c = self.pos
        self.pos = (min(max(r + dr, 0), SIZE - 1), min(max(c + dc, 0), SIZE - 1))
        self.steps += 1
        terminated = self.pos == GOAL
        reward = 1.0 if terminated else -0.04
        return self.observe(), reward, terminated, self.steps >= 20


class ReplayMemory:
    def __init__(self, capacity):
        self.memory = deque(maxlen=capacity)

    def push(self, *args):
        self.memory.append(Transition(*args))

    def sample(self, batch_size):
        return random.sample(self.memory, batch_size)

    def __len__(self):
        return len(self.memory)


class DQN(nn.Module):
    def __init__(self, n_observations, n_actions):
        super().__init__()
        self.layer1 = nn.Linear(n_observations, 32)
        self.layer2 = nn.Linear(32, 32)
        self.layer3 = nn.Linear(32, n_actions)

    def forward(self, x):
        x = F.relu(self.layer1(x))
        x = F.relu(self.layer2(x))
        return self.layer3(x)


BATCH_SIZE, GAMMA, EPS_START, EPS_END, EPS_DECAY, TAU, LR = 16, 0.9, 0.9, 0.05, 200, 0.01, 1e-3
env = GridWorld()
n_actions, n_observations = len(MOVES), SIZE * SIZE
policy_net = DQN(n_observations, n_actions)
target_net = DQN(n_observations, n_actions)
target_net.load_state_dict(policy_net.state_dict())
optimizer = optim.AdamW(policy_net.parameters(), lr=LR, amsgrad=True)
memory = ReplayMemory(500)
steps_done = 0
print(policy_net)
print(optimizer)


def select_action(state):
    global steps_done
    sample = random.random()
    eps_threshold = EPS_END + (EPS_START - EPS_END) * math.exp(-1.0 * steps_done / EPS_DECAY)
    steps_done += 1
    if sample > eps_threshold:
        with torch.no_grad():
            return policy_net(state).max(1).indices.view(1, 1)
    return torch.tensor([[random.randrange(n_actions)]], dtype=torch.long)


def optimize_model():
    if len(memory) < BATCH_SIZE:
        return None
    transitions = memory.sample(BATCH_SIZE)
    batch = Transition(*zip(*transitions))
    non_final_mask = torch.tensor(tuple(map(lambda s: s is not None, batch.next_state)), dtype=torch.bool)
    non_final_next_states = torch.cat([s for s in batch.next_state if s is not None])
    state_batch = torch.cat(batch.state)
    action_batch = torch.cat(batch.action)
    reward_batch = torch.cat(batch.reward)

    state_action_values = policy_net(state_batch).gather(1, action_batch)
    next_state_values = torch.zeros(BATCH_SIZE)
    with torch.no_grad():
        next_state_values[non_final_mask] = target_net(non_final_next_states).max(1).values
    expected_state_action_values = (next_state_values * GAMMA) + reward_batch

    criterion = nn.SmoothL1Loss()
    loss = criterion(state_action_values, expected_state_action_values.unsqueeze(1))
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_value_(policy_net.parameters(), 100)
    optimizer.step()
    return loss


episode_lengths, losses = [], []
for i_episode in range(40):
    state = env.reset().unsqueeze(0)
    for t in range(100):
        action = select_action(state)
        observation, reward, terminated, truncated = env.step(action.item())
        reward = torch.tensor([reward])
        next_state = None if terminated else observation.unsqueeze(0)
        memory.push(state, action, next_state, reward)
        state = next_state
        loss = optimize_model()
        if loss is not None:
            losses.append(loss)

        target_net_state_dict = target_net.state_dict()
        policy_net_state_dict = policy_net.state_dict()
        for key in policy_net_state_dict:
            target_net_state_dict[key] = policy_net_state_dict[key] * TAU + target_net_state_dict[key] * (1 - TAU)
        target_net.load_state_dict(target_net_state_dict)

        if terminated or truncated:
            episode_lengths.append(t + 1)
            break
    if i_episode % 10 == 9:
        recent = torch.tensor(episode_lengths[-10:], dtype=torch.float)
        mean_loss = torch.stack(losses[-50:]).mean() if losses else torch.tensor(0.0)
        print(f"episode {i_episode + 1}: mean length {recent.mean().item():.2f}, "
              f"mean loss {mean_loss.item():.5f}, eps steps {steps_done}")

with torch.no_grad():
    q_values = policy_net(torch.eye(n_observations))
print(q_values.max(1).indices.view(SIZE, SIZE))
print(q_values[0])
print(target_net.layer3.bias)
print(policy_net.layer3.weight.grad.abs().sum())
print(len(memory), memory.memory[0].state.shape, memory.memory[-1].action)
