import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset, random_split

# The knowledge distillation tutorial on synthetic images: a deep teacher, a light student trained on the
# teacher's softened logits, and a student that also matches the teacher's hidden features through a cosine loss.
torch.manual_seed(42)
CLASSES = 4


def make_dataset(n):
    labels = torch.randint(0, CLASSES, (n,))
    images = torch.randn(n, 3, 8, 8) * 0.5
    for c in range(CLASSES):
        rows = labels == c
        images[rows, c % 3, 2 * c:2 * c + 3, :] += 1.0
    return TensorDataset(images, labels)


train_set, test_set = random_split(make_dataset(400), [320, 80], generator=torch.Generator().manual_seed(1))
train_loader = DataLoader(train_set, batch_size=32, shuffle=True)
test_loader = DataLoader(test_set, batch_size=40, shuffle=False)


class DeepNN(nn.Module):
    def __init__(self, num_classes=CLASSES):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, kernel_size=3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 16, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Conv2d(16, 8, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(kernel_size=2, stride=2),
        )
        self.classifier = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Dropout(0.1), nn.Linear(64, num_classes))

    def forward(self, x, with_hidden=False):
        x = self.features(x)
        flattened = torch.flatten(x, 1)
        logits = self.classifier(flattened)
        return (logits, flattened) if with_hidden else logits


class LightNN(nn.Module):
    def __init__(self, num_classes=CLASSES):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Conv2d(8, 8, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(kernel_size=2, stride=2),
        )
        self.classifier = nn.Sequential(nn.Linear(32, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, num_classes))

    def forward(self, x, with_hidden=False):
        x = self.features(x)
        flattened = torch.flatten(x, 1)
        logits = self.classifier(flattened)
        return (logits, flattened) if with_hidden else logits


def train(model, train_loader, epochs, learning_rate):
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=learning_rate)
    model.train()
    for epoch in range(epochs):
        running_loss = 0.0
        for inputs, labels in train_loader:
            optimizer.zero_grad()
            outputs = model(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
        print(f"Epoch {epoch + 1}/{epochs}, Loss: {running_loss / len(train_loader)}")


def test(model, test_loader):
    model.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for inputs, labels in test_loader:
            outputs = model(inputs)
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
    accuracy = 100 * correct / total
    print(f"Test Accuracy: {accuracy:.2f}%")
    return accuracy


nn_deep = DeepNN()
train(nn_deep, train_loader, epochs=3, learning_rate=0.003)
test_accuracy_deep = test(nn_deep, test_loader)

torch.manual_seed(42)
nn_light = LightNN()
torch.manual_seed(42)
new_nn_light = LightNN()
print("Norm of 1st layer of nn_light:", torch.norm(nn_light.features[0].weight).item())
print("Norm of 1st layer of new_nn_light:", torch.norm(new_nn_light.features[0].weight).item())
total_params_deep = sum(p.numel() for p in nn_deep.parameters())
total_params_light = sum(p.numel() for p in nn_light.parameters())
print(f"DeepNN parameters: {total_params_deep:,}")
print(f"LightNN parameters: {total_params_light:,}")

train(nn_light, train_loader, epochs=3, learning_rate=0.003)
test_accuracy_light_ce = test(nn_light, test_loader)


def train_knowledge_distillation(teacher, student, train_loader, epochs, learning_rate, T, soft_target_loss_weight,
                                 ce_loss_weight):
    ce_loss = nn.CrossEntropyLoss()
    optimizer = optim.Adam(student.parameters(), lr=learning_rate)
    teacher.eval()
    student.train()
    for epoch in range(epochs):
        running_loss = 0.0
        for inputs, labels in train_loader:
            optimizer.zero_grad()
            with torch.no_grad():
                teacher_logits = teacher(inputs)
            student_logits = student(inputs)
            soft_targets = nn.functional.softmax(teacher_logits / T, dim=-1)
            soft_prob = nn.functional.log_softmax(student_logits / T, dim=-1)
            soft_targets_loss = torch.sum(soft_targets * (soft_targets.log() - soft_prob)) / soft_prob.size()[0] * (
                T**2)
            label_loss = ce_loss(student_logits, labels)
            loss = soft_target_loss_weight * soft_targets_loss + ce_loss_weight * label_loss
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
        print(f"Epoch {epoch + 1}/{epochs}, Loss: {running_loss / len(train_loader)}")


train_knowledge_distillation(teacher=nn_deep, student=new_nn_light, train_loader=train_loader, epochs=3,
                             learning_rate=0.003, T=2, soft_target_loss_weight=0.25, ce_loss_weight=0.75)
test_accuracy_light_ce_and_kd = test(new_nn_light, test_loader)


def train_cosine_loss(teacher, student, train_loader, epochs, learning_rate, hidden_rep_loss_weight, ce_loss_weight):
    ce_loss = nn.CrossEntropyLoss()
    cosine_loss = nn.CosineEmbeddingLoss()
    optimizer = optim.Adam(student.parameters(), lr=learning_rate)
    teacher.eval()
    student.train()
    for epoch in range(epochs):
        running_loss = 0.0
        for inputs, labels in train_loader:
            optimizer.zero_grad()
            with torch.no_grad():
                _, teacher_hidden = teacher(inputs, with_hidden=True)
                teacher_hidden = F.avg_pool1d(teacher_hidden.unsqueeze(1), 1).squeeze(1)
            student_logits, student_hidden = student(inputs, with_hidden=True)
            hidden_rep_loss = cosine_loss(student_hidden, teacher_hidden, target=torch.ones(inputs.size(0)))
            label_loss = ce_loss(student_logits, labels)
            loss = hidden_rep_loss_weight * hidden_rep_loss + ce_loss_weight * label_loss
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
        print(f"Epoch {epoch + 1}/{epochs}, Loss: {running_loss / len(train_loader)}")


torch.manual_seed(42)
modified_nn_light = LightNN()
train_cosine_loss(teacher=nn_deep, student=modified_nn_light, train_loader=train_loader, epochs=2,
                  learning_rate=0.003, hidden_rep_loss_weight=0.25, ce_loss_weight=0.75)
test_accuracy_light_ce_and_cosine_loss = test(modified_nn_light, test_loader)

print(f"Teacher accuracy: {test_accuracy_deep:.2f}%")
print(f"Student accuracy without teacher: {test_accuracy_light_ce:.2f}%")
print(f"Student accuracy with CE + KD: {test_accuracy_light_ce_and_kd:.2f}%")
print(f"Student accuracy with CE + CosineLoss: {test_accuracy_light_ce_and_cosine_loss:.2f}%")
sample, label = test_set[0]
print(sample.shape, label, new_nn_light(sample.unsqueeze(0)).softmax(-1))
