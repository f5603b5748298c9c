"""Numbers: forward and backward against a numpy (float64) implementation of the
lecture's passes using net.params, the SGD update, initialisation."""

from __future__ import annotations

import numpy as np
import pytest

from swann import Net

from conftest import ref_backward, ref_div, ref_forward, unpack

ACTIVATIONS = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "gelu"]


def make(input_size, layers, loss, max_batch=8, optimizer=None, seed=3):
    spec = {"input": input_size, "layers": layers, "loss": loss, "seed": seed,
            "optimizer": optimizer or {"type": "sgd", "lr": 0.1}}
    return Net(spec, max_batch=max_batch), spec


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_forward_matches_numpy(activation, rng):
    layer = {"units": 7, "activation": activation}
    if activation == "leaky_relu":
        layer["alpha"] = 0.2
    if activation == "elu":
        layer["alpha"] = 0.7
    net, spec = make(5, [layer, {"units": 4, "activation": "softmax"}], "cross_entropy")
    net.params[:] = rng.standard_normal(net.param_count).astype(np.float32) * 0.8
    x = rng.standard_normal((6, 5)).astype(np.float32)
    ref, _ = ref_forward(spec, net.params, x)
    got = net.forward(x)
    np.testing.assert_allclose(got, ref, rtol=2e-5, atol=2e-6)


def test_deep_forward_matches_numpy(rng):
    layers = [{"units": 16, "activation": "relu"}, {"units": 12, "activation": "tanh"},
              {"units": 9, "activation": "gelu"}, {"units": 5, "activation": "identity"}]
    net, spec = make(11, layers, "mse", max_batch=32)
    x = rng.standard_normal((32, 11)).astype(np.float32)
    ref, _ = ref_forward(spec, net.params, x)
    np.testing.assert_allclose(net.forward(x), ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(net.predict(np.tile(x, (3, 1))), np.tile(ref, (3, 1)), rtol=1e-4, atol=1e-5)


def test_forward_784_128_10(rng):
    """The benchmark net, batch sizes that hit the GEMM's edge cases."""
    net, spec = make(784, [{"units": 128, "activation": "relu"}, {"units": 10, "activation": "softmax"}],
                     "cross_entropy", max_batch=100)
    for rows in (1, 7, 100):
        x = rng.random((rows, 784)).astype(np.float32)
        ref, _ = ref_forward(spec, net.params, x)
        np.testing.assert_allclose(net.forward(x), ref, rtol=1e-4, atol=1e-6)


def reference_check(net, spec, x, target, loss_name, dy=None):
    """Compares loss, accumulated grads and dx with the numpy backward."""
    params = net.params.copy()
    Y, _ = ref_forward(spec, params, x)
    if dy is None:
        div, dY = ref_div(loss_name, Y, np.asarray(target, np.float64))
    else:
        div, dY = None, np.asarray(dy, np.float64)
    g_ref, dx_ref = ref_backward(spec, params, x, dY)
    net.zero_grad()
    net.forward(x)
    if dy is None:
        loss, dx = net.backward(target, return_dx=True)
        assert loss == pytest.approx(div.mean(), rel=1e-4, abs=1e-6)
    else:
        dx = net.backward_grad(dy, return_dx=True)
    scale = np.abs(g_ref).max() + 1e-12
    np.testing.assert_allclose(net.grads / scale, g_ref / scale, atol=2e-5)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-3, atol=2e-5 * (np.abs(dx_ref).max() + 1e-12))
    return g_ref


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradients_mse(activation, rng):
    net, spec = make(4, [{"units": 6, "activation": activation}, {"units": 3, "activation": "tanh"}], "mse")
    net.params[:] = rng.standard_normal(net.param_count).astype(np.float32) * 0.7
    x = rng.standard_normal((5, 4)).astype(np.float32)
    t = rng.standard_normal((5, 3)).astype(np.float32)
    reference_check(net, spec, x, t, "mse")


def test_gradients_softmax_cross_entropy(rng):
    net, spec = make(6, [{"units": 10, "activation": "elu"}, {"units": 4, "activation": "softmax"}],
                     "cross_entropy")
    x = rng.standard_normal((8, 6)).astype(np.float32)
    labels = rng.integers(0, 4, 8)
    reference_check(net, spec, x, np.eye(4, dtype=np.float32)[labels], "cross_entropy")
    # soft labels too
    soft = rng.random((8, 4)).astype(np.float32)
    soft /= soft.sum(axis=1, keepdims=True)
    reference_check(net, spec, x, soft, "cross_entropy")


def test_gradients_sigmoid_binary_cross_entropy(rng):
    net, spec = make(3, [{"units": 5, "activation": "tanh"}, {"units": 2, "activation": "sigmoid"}],
                     "binary_cross_entropy")
    x = rng.standard_normal((7, 3)).astype(np.float32)
    t = rng.integers(0, 2, (7, 2)).astype(np.float32)
    reference_check(net, spec, x, t, "binary_cross_entropy")


def test_gradients_softmax_with_mse_uses_full_jacobian(rng):
    net, spec = make(3, [{"units": 5, "activation": "relu"}, {"units": 4, "activation": "softmax"}], "mse")
    x = rng.standard_normal((6, 3)).astype(np.float32)
    t = rng.random((6, 4)).astype(np.float32)
    reference_check(net, spec, x, t, "mse")


def test_gradients_backward_grad(rng):
    net, spec = make(4, [{"units": 6, "activation": "softplus"}, {"units": 3, "activation": "softmax"}], "none")
    x = rng.standard_normal((5, 4)).astype(np.float32)
    dy = rng.standard_normal((5, 3)).astype(np.float32)
    reference_check(net, spec, x, None, "none", dy=dy)


def test_reference_backward_against_finite_differences(rng):
    """Guards the numpy reference itself (float64 central differences)."""
    spec = {"input": 3, "layers": [{"units": 4, "activation": "gelu"}, {"units": 2, "activation": "softmax"}],
            "loss": "cross_entropy"}
    params = rng.standard_normal(3 * 4 + 4 + 4 * 2 + 2)
    x = rng.standard_normal((3, 3))
    d = np.eye(2)[[0, 1, 1]]

    def err(p):
        Y, _ = ref_forward(spec, p, x)
        return ref_div("cross_entropy", Y, d)[0].sum()

    Y, _ = ref_forward(spec, params, x)
    g, _ = ref_backward(spec, params, x, ref_div("cross_entropy", Y, d)[1])
    h = 1e-6
    num = np.array([(err(params + h * e) - err(params - h * e)) / (2 * h) for e in np.eye(params.size)])
    np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-7)


def test_sgd_step_is_w_minus_lr_over_t_times_grad(rng):
    lr = 0.05
    net, spec = make(4, [{"units": 5, "activation": "tanh"}, {"units": 2, "activation": "identity"}], "mse",
                     optimizer={"type": "sgd", "lr": lr})
    x1, t1 = rng.standard_normal((3, 4)), rng.standard_normal((3, 2))
    x2, t2 = rng.standard_normal((5, 4)), rng.standard_normal((5, 2))
    W = net.params.astype(np.float64)
    net.forward(x1)
    net.backward(t1)
    net.forward(x2)
    net.backward(t2)
    g = net.grads.astype(np.float64)
    # several forward/backward pairs equal one bigger batch
    g_ref = ref_backward(spec, net.params, x1, ref_div("mse", ref_forward(spec, net.params, x1)[0], t1)[1])[0] \
        + ref_backward(spec, net.params, x2, ref_div("mse", ref_forward(spec, net.params, x2)[0], t2)[1])[0]
    np.testing.assert_allclose(g, g_ref, rtol=1e-4, atol=1e-5)
    net.step()
    T = 3 + 5
    np.testing.assert_allclose(net.params, W - lr / T * g, rtol=1e-6, atol=1e-7)


def test_adam_first_step_moves_by_lr(rng):
    lr = 1e-3
    net, spec = make(4, [{"units": 5, "activation": "tanh"}, {"units": 2, "activation": "identity"}], "mse",
                     optimizer={"type": "adam", "lr": lr})
    before = net.params.copy()
    net.forward(rng.standard_normal((6, 4)))
    net.backward(rng.standard_normal((6, 2)))
    g = net.grads.copy()
    net.step()
    delta = net.params - before
    big = np.abs(g) > 1e-3
    # first Adam step: m_hat = g, v_hat = g^2, so the move is lr * sign(g) (eps aside)
    np.testing.assert_allclose(delta[big], -lr * np.sign(g[big]), rtol=1e-2)


def test_init_he_xavier_zeros_and_seed():
    def params(init, seed=5, act="relu"):
        spec = {"input": 400, "layers": [{"units": 300, "activation": act}], "loss": "mse",
                "init": init, "seed": seed}
        return Net(spec, max_batch=1)

    he = params("he")
    W, b = unpack(he.params, he.spec)[0]
    assert not b.any()
    assert W.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    xa = params("xavier")
    W, _ = unpack(xa.params, xa.spec)[0]
    bound = np.sqrt(6 / 700)
    assert np.abs(W).max() <= bound and np.abs(W).max() > 0.99 * bound
    assert W.std() == pytest.approx(bound / np.sqrt(3), rel=0.02)
    assert not params("zeros").params.any()
    assert np.array_equal(params("he").params, he.params)
    assert not np.array_equal(params("he", seed=6).params, he.params)
    # default init: he for relu, xavier for tanh
    auto_relu = {"input": 400, "layers": [{"units": 300, "activation": "relu"}], "loss": "mse", "seed": 5}
    assert np.array_equal(Net(auto_relu, max_batch=1).params, he.params)
    auto_tanh = {"input": 400, "layers": [{"units": 300, "activation": "tanh"}], "loss": "mse", "seed": 5}
    assert np.array_equal(Net(auto_tanh, max_batch=1).params, params("xavier", act="tanh").params)


def test_softmax_cross_entropy_is_stable_for_large_logits():
    net, spec = make(2, [{"units": 3, "activation": "softmax"}], "cross_entropy")
    net.params[:] = 0
    net.params[:6] = np.array([100, 0, 0, 100, -100, -100], np.float32)  # W (3x2)
    x = np.array([[1.0, 0.0]], np.float32)          # z = (100, 0, -100)
    y = net.forward(x)
    assert np.isfinite(y).all()
    loss = net.backward([2])                        # -log softmax(z)_2 = 200
    assert loss == pytest.approx(200.0, rel=1e-4)
    assert np.isfinite(net.grads).all()


def test_threads_give_the_same_results(rng):
    """A spec with "threads": 2 (an addition to contract 1) computes what one thread does."""
    from swann import SwannError
    layers = [{"units": 256, "activation": "relu"}, {"units": 10, "activation": "softmax"}]
    one, spec = make(784, layers, "cross_entropy", max_batch=64)
    try:
        two = Net(dict(spec, threads=2), max_batch=64)
    except SwannError as e:
        pytest.skip("library has no \"threads\" spec key: %s" % e)
    assert np.array_equal(one.params, two.params)
    x = rng.random((64, 784)).astype(np.float32)
    labels = rng.integers(0, 10, 64)
    for net in (one, two):
        net.forward(x)
        net.backward(labels)
    np.testing.assert_allclose(two.forward(x), one.forward(x), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(two.grads, one.grads, rtol=1e-4, atol=1e-5)
    h1 = one.fit(x, labels, epochs=2, batch_size=16, seed=0, progress=False)
    h2 = two.fit(x, labels, epochs=2, batch_size=16, seed=0, progress=False)
    assert h2["loss"] == pytest.approx(h1["loss"], rel=1e-4)
    two.close()
