import torch
import torch.nn as nn
import torch.nn.functional as F

# Node classification on a graph of two communities, written the way message-passing libraries work: an edge
# list, messages gathered per edge and summed per node with index_add_ and scatter_add, symmetric degree
# normalization, a graph attention layer with a per-destination softmax from scatter_reduce, and a readout.
torch.manual_seed(0)

N, FEATURES, CLASSES = 40, 6, 2
community = (torch.arange(N) >= N // 2).long()
inside = torch.rand(N, N) < 0.25
across = torch.rand(N, N) < 0.03
same = community[:, None] == community[None, :]
adjacency = torch.where(same, inside, across)
adjacency = (adjacency | adjacency.t()) & ~torch.eye(N, dtype=torch.bool)
edge_index = adjacency.nonzero().t().contiguous()
x = torch.randn(N, FEATURES) + community[:, None].float() * 0.6
train_mask = torch.zeros(N, dtype=torch.bool)
train_mask[torch.randperm(N)[:12]] = True
print("edges:", edge_index.shape, edge_index[:, :6])
print("degrees:", torch.bincount(edge_index[0], minlength=N)[:10])


def add_self_loops(edge_index, num_nodes):
    loops = torch.arange(num_nodes).unsqueeze(0).repeat(2, 1)
    return torch.cat([edge_index, loops], dim=1)


class GCNConv(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.lin = nn.Linear(in_channels, out_channels, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x, edge_index):
        edge_index = add_self_loops(edge_index, x.size(0))
        row, col = edge_index
        deg = torch.zeros(x.size(0)).scatter_add_(0, col, torch.ones(col.size(0)))
        deg_inv_sqrt = deg.pow(-0.5)
        deg_inv_sqrt[deg_inv_sqrt == float("inf")] = 0
        norm = deg_inv_sqrt[row] * deg_inv_sqrt[col]
        x = self.lin(x)
        messages = norm.view(-1, 1) * x[row]
        out = torch.zeros_like(x).index_add_(0, col, messages)
        return out + self.bias


class GATConv(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.lin = nn.Linear(in_channels, out_channels, bias=False)
        self.att_src = nn.Parameter(torch.randn(out_channels) * 0.1)
        self.att_dst = nn.Parameter(torch.randn(out_channels) * 0.1)

    def forward(self, x, edge_index):
        edge_index = add_self_loops(edge_index, x.size(0))
        src, dst = edge_index
        h = self.lin(x)
        scores = F.leaky_relu((h * self.att_src).sum(-1)[src] + (h * self.att_dst).sum(-1)[dst], 0.2)
        top = torch.full((x.size(0),), float("-inf")).scatter_reduce(0, dst, scores, reduce="amax",
                                                                      include_self=True)
        weights = (scores - top[dst]).exp()
        total = torch.zeros(x.size(0)).index_add(0, dst, weights)
        alpha = weights / total[dst]
        self.last_alpha = alpha.detach()
        return torch.zeros_like(h).index_add_(0, dst, alpha.unsqueeze(-1) * h[src])


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = GCNConv(FEATURES, 16)
        self.conv2 = GATConv(16, 16)
        self.head = nn.Linear(16, CLASSES)

    def forward(self, x, edge_index):
        x = F.relu(self.conv1(x, edge_index))
        x = F.dropout(x, p=0.2, training=self.training)
        x = F.elu(self.conv2(x, edge_index))
        return self.head(x)


model = Net()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
for epoch in range(1, 121):
    model.train()
    optimizer.zero_grad()
    out = model(x, edge_index)
    loss = F.cross_entropy(out[train_mask], community[train_mask])
    loss.backward()
    optimizer.step()
    if epoch % 30 == 0:
        model.eval()
        with torch.no_grad():
            pred = model(x, edge_index).argmax(dim=1)
        correct = (pred[~train_mask] == community[~train_mask]).sum()
        acc = int(correct) / int((~train_mask).sum())
        print(f"Epoch: {epoch:03d}, Loss: {loss:.4f}, Test Acc: {acc:.4f}")

model.eval()
with torch.no_grad():
    embedding = F.relu(model.conv1(x, edge_index))
    graph_embedding = torch.stack([embedding[community == c].mean(0) for c in range(CLASSES)])
print(graph_embedding.norm(dim=1))
print(model.conv2.last_alpha[:5])
print(torch.unique(pred, return_counts=True))
print(model.conv1.bias.grad.norm())
