"""Every numba kernel agrees with its NumPy twin to float32 precision, on awkward shapes too."""

import numpy as np
import pytest

from nn.fast import direct, kernels, winograd

# (N, C, H, W, K, stride, pad): odd sizes, stride 2, padding, a kernel as big as the image
CONV_CASES = [
    (2, 1, 28, 28, 3, 1, 1),
    (3, 4, 7, 9, 3, 1, 0),
    (2, 3, 11, 8, 3, 2, 1),
    (1, 2, 5, 5, 5, 1, 2),
    (2, 5, 10, 13, 4, 3, 1),
    (1, 1, 3, 3, 3, 2, 0),
]


@pytest.mark.parametrize("N, C, H, W, K, stride, pad", CONV_CASES)
def test_im2col_matches_reference(N, C, H, W, K, stride, pad):
    x = np.random.default_rng(0).normal(size=(N, C, H, W)).astype(np.float32)
    np.testing.assert_array_equal(kernels.im2col(x, K, K, stride, pad),
                                  kernels.im2col_reference(x, K, K, stride, pad))


@pytest.mark.parametrize("N, C, H, W, K, stride, pad", CONV_CASES)
def test_col2im_matches_reference(N, C, H, W, K, stride, pad):
    OH = kernels.conv_output_size(H, K, stride, pad)
    OW = kernels.conv_output_size(W, K, stride, pad)
    cols = np.random.default_rng(1).normal(size=(C * K * K, N * OH * OW)).astype(np.float32)
    np.testing.assert_allclose(kernels.col2im(cols, N, C, H, W, K, K, stride, pad),
                               kernels.col2im_reference(cols, N, C, H, W, K, K, stride, pad),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("N, C, H, W, K, stride, pad", CONV_CASES)
def test_col2im_is_the_adjoint_of_im2col(N, C, H, W, K, stride, pad):
    """<im2col(x), c> == <x, col2im(c)> for all x, c: the defining property of backward."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(N, C, H, W))
    cols = rng.normal(size=kernels.im2col_reference(x, K, K, stride, pad).shape)
    lhs = np.sum(kernels.im2col(x, K, K, stride, pad) * cols)
    rhs = np.sum(x * kernels.col2im(cols, N, C, H, W, K, K, stride, pad))
    assert lhs == pytest.approx(rhs, rel=1e-10)


@pytest.mark.parametrize("N, F, OH, OW", [(2, 3, 4, 5), (1, 1, 1, 1), (3, 8, 7, 7)])
def test_layout_kernels_match_reference(N, F, OH, OW):
    rng = np.random.default_rng(3)
    y = rng.normal(size=(F, N * OH * OW)).astype(np.float32)
    b = rng.normal(size=F).astype(np.float32)
    out = kernels.rows_to_nchw(y, b, N, OH, OW)
    np.testing.assert_array_equal(out, kernels.rows_to_nchw_reference(y, b, N, OH, OW))
    np.testing.assert_array_equal(kernels.nchw_to_rows(out), kernels.nchw_to_rows_reference(out))


@pytest.mark.parametrize("shape, size, stride", [
    ((2, 3, 8, 8), 2, 2), ((1, 2, 7, 9), 2, 2), ((2, 1, 9, 9), 3, 2), ((1, 2, 6, 6), 3, 3),
])
def test_maxpool_kernels_match_reference(shape, size, stride):
    rng = np.random.default_rng(4)
    x = rng.normal(size=shape).astype(np.float32)
    x[0, 0, :2, :2] = 1.0  # a tie: both must pick the first maximum
    out, argmax = kernels.maxpool_forward(x, size, stride)
    ref_out, ref_argmax = kernels.maxpool_forward_reference(x, size, stride)
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(argmax, ref_argmax)
    dout = rng.normal(size=out.shape).astype(np.float32)
    H, W = shape[2:]
    np.testing.assert_allclose(kernels.maxpool_backward(dout, argmax, H, W, size, stride),
                               kernels.maxpool_backward_reference(dout, argmax, H, W, size, stride),
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 5, 7)])
def test_relu_kernels_match_reference(shape):
    rng = np.random.default_rng(5)
    x = rng.normal(size=shape).astype(np.float32)
    out = kernels.relu_forward(x)
    np.testing.assert_array_equal(out, kernels.relu_forward_reference(x))
    dout = rng.normal(size=shape).astype(np.float32)
    np.testing.assert_array_equal(kernels.relu_backward(dout, out),
                                  kernels.relu_backward_reference(dout, out))


# ----------------------------------------------------------------------------- Winograd
# (N, C, F, H, W): one tile, odd counts of images, channels and filters, non-square images
WINOGRAD_CASES = [(1, 1, 1, 2, 2), (3, 5, 7, 6, 10), (2, 32, 64, 14, 14), (5, 2, 3, 8, 4)]


@pytest.mark.parametrize("N, C, F, H, W", WINOGRAD_CASES)
def test_winograd_input_transforms_match_reference(N, C, F, H, W):
    rng = np.random.default_rng(6)
    x = rng.normal(size=(N, C, H, W)).astype(np.float32)
    T = N * H * W // 4
    v, v_ref = np.empty((2, 16, T, C), np.float32)
    winograd.input_transform(x, v)
    winograd.input_transform_reference(x, v_ref)
    np.testing.assert_allclose(v, v_ref, rtol=1e-6, atol=1e-6)

    dv = rng.normal(size=(16, T, C)).astype(np.float32)
    dx, dx_ref = np.empty_like(x), np.empty_like(x)
    winograd.input_transform_backward(dv, dx)
    winograd.input_transform_backward_reference(dv, dx_ref)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("N, C, F, H, W", WINOGRAD_CASES)
def test_winograd_output_transforms_match_reference(N, C, F, H, W):
    rng = np.random.default_rng(7)
    T = N * H * W // 4
    m = rng.normal(size=(16, T, F)).astype(np.float32)
    b = rng.normal(size=F).astype(np.float32)
    out, out_ref = np.empty((2, N, F, H, W), np.float32)
    winograd.output_transform(m, b, out)
    winograd.output_transform_reference(m, b, out_ref)
    np.testing.assert_allclose(out, out_ref, rtol=1e-5, atol=1e-5)

    dout = rng.normal(size=(N, F, H, W)).astype(np.float32)
    dm, dm_ref = np.empty((2, 16, T, F), np.float32)
    db, db_ref = np.ones((2, F), np.float32)
    winograd.output_transform_backward(dout, dm, db)
    winograd.output_transform_backward_reference(dout, dm_ref, db_ref)
    np.testing.assert_allclose(dm, dm_ref, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(db, db_ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("N, C, F, H, W", WINOGRAD_CASES)
def test_winograd_backward_transforms_are_the_adjoints(N, C, F, H, W):
    """<transform(a), b> == <a, transform_backward(b)>, in float64, for all three transforms."""
    rng = np.random.default_rng(8)
    T = N * H * W // 4
    x, dv = rng.normal(size=(N, C, H, W)), rng.normal(size=(16, T, C))
    v, dx = np.empty((16, T, C)), np.empty_like(x)
    winograd.input_transform(x, v)
    winograd.input_transform_backward(dv, dx)
    assert np.sum(v * dv) == pytest.approx(np.sum(x * dx), rel=1e-10)

    m, b, dout = rng.normal(size=(16, T, F)), rng.normal(size=F), rng.normal(size=(N, F, H, W))
    out, dm, db = np.empty_like(dout), np.empty_like(m), np.zeros(F)
    winograd.output_transform(m, b, out)
    winograd.output_transform_backward(dout, dm, db)
    assert np.sum(out * dout) == pytest.approx(np.sum(m * dm) + np.sum(b * db), rel=1e-10)

    w, du = rng.normal(size=(F, C, 3, 3)), rng.normal(size=(16, C, F))
    lhs = np.sum(winograd.weight_transform(w) * du)
    assert lhs == pytest.approx(np.sum(w * winograd.weight_transform_backward(du)), rel=1e-10)


# ----------------------------------------------------------------------------- direct
@pytest.mark.parametrize("N, F, H, W, pad", [(1, 1, 3, 3, 0), (3, 5, 7, 9, 1), (2, 32, 28, 28, 1),
                                             (2, 3, 5, 4, 2)])
def test_direct_convolution_matches_reference(N, F, H, W, pad):
    rng = np.random.default_rng(10)
    x = rng.normal(size=(N, 1, H, W)).astype(np.float32)
    w = rng.normal(size=(F, 1, 3, 3)).astype(np.float32)
    b = rng.normal(size=F).astype(np.float32)
    out = direct.conv3x3_forward(x, w, b, pad)
    np.testing.assert_allclose(out, direct.conv3x3_forward_reference(x, w, b, pad),
                               rtol=1e-5, atol=1e-5)
    dout = rng.normal(size=out.shape).astype(np.float32)
    for fast, slow in zip(direct.conv3x3_backward(x, dout, pad),
                          direct.conv3x3_backward_reference(x, dout, pad)):
        np.testing.assert_allclose(fast, slow, rtol=1e-5, atol=1e-3)
