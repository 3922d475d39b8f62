import copy

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

# Two tutorials that differentiate with respect to the input instead of the weights. First the fast gradient
# sign method against a small classifier trained on synthetic images, then neural style transfer: an image
# optimized with L-BFGS so that its features match one image's content and another's Gram matrices.
torch.manual_seed(0)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=3)
        self.conv2 = nn.Conv2d(6, 12, kernel_size=3)
        self.dropout = nn.Dropout(0.25)
        self.fc1 = nn.Linear(12 * 2 * 2, 32)
        self.fc2 = nn.Linear(32, 3)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2(x), 2))
        x = torch.flatten(x, 1)
        x = self.dropout(F.relu(self.fc1(x)))
        return F.log_softmax(self.fc2(x), dim=1)


def make_images(n):
    labels = torch.randint(0, 3, (n,))
    images = torch.rand(n, 1, 14, 14) * 0.3
    for i, label in enumerate(labels.tolist()):
        if label == 0:
            images[i, 0, 3:11, 6:8] += 0.7  # a vertical bar
        elif label == 1:
            images[i, 0, 6:8, 3:11] += 0.7  # a horizontal bar
        else:
            images[i, 0, 4:10, 4:10] += 0.5  # a square
    return images.clamp(0, 1), labels


train_x, train_y = make_images(192)
test_x, test_y = make_images(60)
model = Net()
optimizer = optim.Adam(model.parameters(), lr=3e-3)
for epoch in range(4):
    model.train()
    permutation = torch.randperm(len(train_x))
    for start in range(0, len(train_x), 32):
        idx = permutation[start:start + 32]
        optimizer.zero_grad()
        loss = F.nll_loss(model(train_x[idx]), train_y[idx])
        loss.backward()
        optimizer.step()
    print(f"epoch {epoch}: loss {loss.item():.4f}")

model.eval()


def fgsm_attack(image, epsilon, data_grad):
    sign_data_grad = data_grad.sign()
    perturbed_image = image + epsilon * sign_data_grad
    return torch.clamp(perturbed_image, 0, 1)


def test(model, epsilon):
    correct = 0
    adv_examples = []
    for data, target in zip(test_x.split(1), test_y.split(1)):
        data.requires_grad = True
        output = model(data)
        init_pred = output.max(1, keepdim=True)[1]
        if init_pred.item() != target.item():
            continue
        loss = F.nll_loss(output, target)
        model.zero_grad()
        loss.backward()
        data_grad = data.grad.data
        perturbed_data = fgsm_attack(data, epsilon, data_grad)
        output = model(perturbed_data)
        final_pred = output.max(1, keepdim=True)[1]
        if final_pred.item() == target.item():
            correct += 1
        elif len(adv_examples) < 2:
            adv_ex = perturbed_data.squeeze().detach().cpu().numpy()
            adv_examples.append((init_pred.item(), final_pred.item(), adv_ex.shape, round(float(adv_ex.mean()), 4)))
    final_acc = correct / float(len(test_x))
    print(f"Epsilon: {epsilon}\tTest Accuracy = {correct} / {len(test_x)} = {final_acc}")
    return final_acc, adv_examples


accuracies = []
for eps in [0, 0.05, 0.1, 0.2, 0.3]:
    acc, ex = test(model, eps)
    accuracies.append(acc)
    print(ex)
print(torch.tensor(accuracies))

# ---- style transfer ------------------------------------------------------------------------------------------
# L-BFGS with a clamped input amplifies every rounding of its first steps: in double precision the run is stable.
torch.set_default_dtype(torch.float64)


class ContentLoss(nn.Module):
    def __init__(self, target):
        super().__init__()
        self.target = target.detach()

    def forward(self, input):
        self.loss = F.mse_loss(input, self.target)
        return input


def gram_matrix(input):
    a, b, c, d = input.size()
    features = input.view(a * b, c * d)
    G = torch.mm(features, features.t())
    return G.div(a * b * c * d)


class StyleLoss(nn.Module):
    def __init__(self, target_feature):
        super().__init__()
        self.target = gram_matrix(target_feature).detach()

    def forward(self, input):
        G = gram_matrix(input)
        self.loss = F.mse_loss(G, self.target)
        return input


class Normalization(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.mean = torch.tensor(mean).view(-1, 1, 1)
        self.std = torch.tensor(std).view(-1, 1, 1)

    def forward(self, img):
        return (img - self.mean) / self.std


features = nn.Sequential(
    nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=True),
    nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2, 2),
    nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(inplace=True),
).eval()
for p in features.parameters():
    p.requires_grad_(False)

style_img = torch.rand(1, 3, 16, 16)
content_img = torch.zeros(1, 3, 16, 16)
content_img[..., 4:12, 4:12] = 1.0
content_layers, style_layers = ["conv_2"], ["conv_1", "conv_2", "conv_3"]


def get_style_model_and_losses(cnn, style_img, content_img):
    normalization = Normalization([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    content_losses, style_losses = [], []
    model = nn.Sequential(normalization)
    i = 0
    for layer in cnn.children():
        if isinstance(layer, nn.Conv2d):
            i += 1
            name = f"conv_{i}"
        elif isinstance(layer, nn.ReLU):
            name = f"relu_{i}"
            layer = nn.ReLU(inplace=False)
        elif isinstance(layer, nn.MaxPool2d):
            name = f"pool_{i}"
        else:
            raise RuntimeError(f"Unrecognized layer: {layer.__class__.__name__}")
        model.add_module(name, layer)
        if name in content_layers:
            target = model(content_img).detach()
            content_loss = ContentLoss(target)
            model.add_module(f"content_loss_{i}", content_loss)
            content_losses.append(content_loss)
        if name in style_layers:
            target_feature = model(style_img).detach()
            style_loss = StyleLoss(target_feature)
            model.add_module(f"style_loss_{i}", style_loss)
            style_losses.append(style_loss)
    return model, style_losses, content_losses


def run_style_transfer(cnn, content_img, style_img, input_img, num_steps=60, style_weight=10000, content_weight=1):
    model, style_losses, content_losses = get_style_model_and_losses(cnn, style_img, content_img)
    input_img.requires_grad_(True)
    model.eval()
    model.requires_grad_(False)
    optimizer = optim.LBFGS([input_img])
    print(model)
    run = [0]
    while run[0] <= num_steps:

        def closure():
            with torch.no_grad():
                input_img.clamp_(0, 1)
            optimizer.zero_grad()
            model(input_img)
            style_score = sum(sl.loss for sl in style_losses) * style_weight
            content_score = sum(cl.loss for cl in content_losses) * content_weight
            loss = style_score + content_score
            loss.backward()
            run[0] += 1
            if run[0] % 20 == 0:
                print(f"run {run}:")
                print(f"Style Loss : {style_score.item():4f} Content Loss: {content_score.item():4f}")
            return style_score + content_score

        optimizer.step(closure)
    with torch.no_grad():
        input_img.clamp_(0, 1)
    return input_img


input_img = copy.deepcopy(content_img)
output = run_style_transfer(features, content_img, style_img, input_img)
print(output.shape, output.requires_grad, output.is_leaf)
print(output[0, :, 7, 7])
print(gram_matrix(features(output)).trace())
