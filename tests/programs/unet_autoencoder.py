import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

# A small U-Net-style denoising autoencoder on synthetic 1x16x16 images: max pooling with indices and unpooling,
# transposed convolutions, interpolation, GroupNorm, skip connections joined with torch.cat, SGD with Nesterov
# momentum and ReduceLROnPlateau.
torch.manual_seed(11)


def make_blobs(n):
    grid = torch.arange(16, dtype=torch.float32)
    centers = torch.rand(n, 2, 1, 1) * 10 + 3
    dist2 = (grid.view(1, 16, 1) - centers[:, :1]) ** 2 + (grid.view(1, 1, 16) - centers[:, 1:]) ** 2
    return torch.exp(-dist2 / 8.0)


def block(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.GroupNorm(2, cout), nn.SiLU())


class UNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc1 = block(1, 4)
        self.pool = nn.MaxPool2d(2, stride=2, return_indices=True)
        self.unpool = nn.MaxUnpool2d(2, stride=2)
        self.enc2 = block(4, 8)
        self.bottleneck = nn.Sequential(nn.Conv2d(8, 8, 3, padding=2, dilation=2), nn.LeakyReLU(0.2))
        self.up = nn.ConvTranspose2d(8, 8, kernel_size=2, stride=2)
        self.upsample = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.dec2 = block(16, 4)
        self.dec1 = block(8, 4)
        self.out = nn.Conv2d(4, 1, 1)

    def forward(self, x):
        e1 = self.enc1(x)                      # 4 x 16 x 16
        p1, idx1 = self.pool(e1)               # 4 x 8 x 8
        e2 = checkpoint(self.enc2, p1, use_reentrant=False)  # 8 x 8 x 8
        p2 = F.max_pool2d(e2, 2)               # 8 x 4 x 4
        b = self.bottleneck(p2)
        d2 = self.dec2(torch.cat([self.up(b), e2], dim=1))
        d1 = torch.cat([self.unpool(d2, idx1, output_size=e1.shape[-2:]), self.upsample(d2)], 1)
        return torch.sigmoid(self.out(self.dec1(d1)))


model = UNet()
print(model.pool, model.unpool, model.upsample)
print(model.up, model.enc1[1])
x = make_blobs(4)
e1 = model.enc1(x)
p1, idx1 = model.pool(e1)
print(p1.shape, idx1.dtype, idx1[0, 0, 0])
print(F.interpolate(p1, scale_factor=2, mode="nearest").shape, F.interpolate(p1, size=(12, 12), mode="bilinear").shape)

clean = make_blobs(48)
noisy = torch.clamp(clean + 0.2 * torch.randn_like(clean), 0.0, 1.0)
val_clean = make_blobs(16)
val_noisy = (val_clean + 0.2 * torch.randn_like(val_clean)).clamp(min=0.0, max=1.0)

optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9, nesterov=True)
scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=1)
for epoch in range(6):
    model.train()
    perm = torch.randperm(48)
    for start in range(0, 48, 12):
        idx = perm[start:start + 12]
        recon = model(noisy[idx])
        loss = F.mse_loss(recon, clean[idx]) + 0.1 * F.l1_loss(recon, clean[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val = model(val_noisy)
        val_mse = F.mse_loss(val, val_clean).item()
        val_l1 = F.l1_loss(val, val_clean, reduction="sum").item()
    scheduler.step(val_mse)
    print(f"epoch {epoch} train {loss.item():.5f} val mse {val_mse:.5f} l1 {val_l1:.3f} "
          f"lr {optimizer.param_groups[0]['lr']:.4f}")

with torch.no_grad():
    out = model(val_noisy[:2])
    psnr = 10 * torch.log10(1.0 / F.mse_loss(out, val_clean[:2], reduction="none").mean(dim=(1, 2, 3)))
print(out.shape, out.requires_grad, psnr)
print(out[0, 0, 6:9, 6:9])
print(model.up.weight.shape, model.up.bias[:4])
print(model.enc1[1].weight, model.dec1[1].bias)
print(F.interpolate(torch.arange(4.0).view(1, 1, 2, 2), scale_factor=2, mode="bilinear", align_corners=False))
print(F.interpolate(torch.arange(4.0).view(1, 1, 2, 2), scale_factor=2, mode="bilinear", align_corners=True))
print(F.interpolate(torch.arange(6.0).view(1, 1, 2, 3), size=(3, 4), mode="nearest"))
print(F.interpolate(torch.arange(6.0).view(1, 1, 2, 3), size=(3, 5), mode="bicubic", align_corners=False))
print(nn.Upsample(scale_factor=1.5, mode="bicubic", align_corners=True)(val_clean[:1])[0, 0, 10, 8:14])
pooled, where = F.max_pool2d(torch.arange(16.0).view(1, 1, 4, 4).flip(-1), 2, return_indices=True)
print(pooled, where, F.max_unpool2d(pooled, where, 2))

# A spectrally normalized critic on the reconstructions, as a GAN's discriminator would see them.
critic = nn.Sequential(nn.utils.spectral_norm(nn.Conv2d(1, 4, 4, stride=2, padding=1)), nn.LeakyReLU(0.2),
                       nn.utils.spectral_norm(nn.Conv2d(4, 1, 4, stride=2, padding=1)))
for _ in range(3):
    score = critic(out).mean()
score.backward()
print(f"{score.item():.5f}", critic[0].weight_u, [n for n, _ in critic.named_parameters()])
print(critic[2].weight_orig.grad.norm(), list(critic.state_dict())[:4])
