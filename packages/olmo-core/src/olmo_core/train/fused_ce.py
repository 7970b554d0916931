"""Output projection fused with cross-entropy (and z-loss), chunked over rows.

The plain path builds float32 logits ``[N, V]`` (N = batch x sequence, V = 50k rows), then reads and
writes tensors of that size several more times (log-softmax, its saved output, the gradient). At
small model sizes that traffic is most of a training step. Here the rows are processed a chunk at a
time: ``logits = h_chunk @ W^T`` in float32, log-sum-exp, the target logit, and, when gradients are
wanted, the gradient of that chunk right away (``softmax - onehot``, reusing the logits' buffer in
place), multiplied into ``grad_h`` and accumulated into ``grad_W``. So only ``[chunk, V]`` is ever
alive and the logits matmul runs once, not again in backward (the Liger-kernel approach). Backward
then only scales the stored gradients by the incoming scalar.

This works because the differentiable output is one scalar, ``ce_sum + z_sum`` (what the "lm"
loss optimizes); the two parts come back separately too, detached, for metrics."""

from __future__ import annotations

import torch

IGNORE_INDEX = -100
# Rows per chunk: bounds the live float32 logits to chunk x V (about 100 MB at V = 50k).
DEFAULT_CHUNK_ROWS = 512


class _LinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, hidden: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor,  # type: ignore[override]
                ignore_index: int, z_loss_multiplier: float | None, chunk_rows: int):
        n = hidden.size(0)
        want_h, want_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        ce = torch.zeros((), dtype=torch.float32, device=hidden.device)
        z = torch.zeros((), dtype=torch.float32, device=hidden.device)
        grad_h = torch.empty_like(hidden) if want_h else None
        grad_w = torch.zeros(weight.shape, dtype=torch.float32, device=weight.device) if want_w else None
        for start in range(0, n, chunk_rows):
            h = hidden[start:start + chunk_rows]
            y = labels[start:start + chunk_rows]
            mask = y != ignore_index
            y_safe = torch.where(mask, y, torch.zeros_like(y)).unsqueeze(1)
            logits = (h @ weight.t()).float()
            target = logits.gather(1, y_safe).squeeze(1)
            # One exp pass serves both the log-sum-exp and the softmax of the gradient: the
            # logits' buffer becomes exp(logits - max) in place.
            row_max = logits.amax(dim=-1, keepdim=True)
            exp = logits.sub_(row_max).exp_()
            denom = exp.sum(dim=-1)
            lse = row_max.squeeze(1) + denom.log()
            maskf = mask.float()
            ce += ((lse - target) * maskf).sum()
            if z_loss_multiplier is not None:
                z += z_loss_multiplier * (lse.pow(2) * maskf).sum()
            if not (want_h or want_w):
                continue
            # d(ce + z)/dlogits = softmax * (1 + 2 m lse) - onehot(target), for rows with a target.
            coef = maskf if z_loss_multiplier is None else maskf * (1.0 + 2.0 * z_loss_multiplier * lse)
            grad = exp.mul_((coef / denom).unsqueeze(1))
            grad.scatter_add_(1, y_safe, -maskf.unsqueeze(1))
            low = grad.to(weight.dtype)  # the head's precision, as a plain backward would use
            if want_h and grad_h.dtype == low.dtype:  # type: ignore[union-attr]
                torch.mm(low, weight, out=grad_h[start:start + chunk_rows])  # type: ignore[index]
            elif want_h:
                grad_h[start:start + chunk_rows] = low @ weight  # type: ignore[index]
            if want_w:
                if weight.dtype == torch.float32 and h.dtype == torch.float32:
                    grad_w.addmm_(grad.t(), h)  # type: ignore[union-attr]
                else:
                    grad_w += (low.t() @ h.to(low.dtype)).float()  # type: ignore[operator]
        # On ctx rather than save_for_backward: backward scales them in place and lets them go.
        ctx.grad_h, ctx.grad_w, ctx.weight_dtype = grad_h, grad_w, weight.dtype
        ctx.mark_non_differentiable(ce, z)
        return ce + z, ce, z

    @staticmethod
    def backward(ctx, grad_loss: torch.Tensor, _grad_ce: torch.Tensor, _grad_z: torch.Tensor):  # type: ignore[override]
        grad_h, grad_w = ctx.grad_h, ctx.grad_w
        ctx.grad_h = ctx.grad_w = None
        out_h = None if grad_h is None else grad_h.mul_(grad_loss.to(grad_h.dtype))
        out_w = None if grad_w is None else grad_w.mul_(grad_loss.float()).to(ctx.weight_dtype)
        return out_h, out_w, None, None, None, None


def linear_cross_entropy_sum(hidden: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor, *,
                             ignore_index: int = IGNORE_INDEX, z_loss_multiplier: float | None = None,
                             chunk_rows: int = DEFAULT_CHUNK_ROWS,
                             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """``(loss, ce_sum, z_sum)`` of the logits ``hidden @ weight^T`` against ``labels``, without
    materializing them: ``hidden [..., D]``, ``weight [V, D]`` (the output head), ``labels [...]``
    (``ignore_index`` = no target). ``ce_sum`` is the summed token cross-entropy in float32 and
    ``z_sum`` the summed ``multiplier * logsumexp^2`` (None without a multiplier); both detached.
    ``loss = ce_sum + z_sum`` is the differentiable one (w.r.t. ``hidden`` and ``weight``), equal to
    the plain ``F.cross_entropy(..., reduction="sum")`` path within float32 rounding."""
    if hidden.shape[:-1] != labels.shape:
        raise ValueError(f"hidden shape {tuple(hidden.shape)} does not match labels shape {tuple(labels.shape)}")
    if weight.dim() != 2 or weight.size(1) != hidden.size(-1):
        raise ValueError(f"weight shape {tuple(weight.shape)} does not fit hidden size {hidden.size(-1)}")
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    loss, ce, z = _LinearCrossEntropy.apply(hidden.reshape(-1, hidden.size(-1)), weight, labels.reshape(-1),
                                            ignore_index, z_loss_multiplier, chunk_rows)
    return loss, ce, (z if z_loss_multiplier is not None else None)
