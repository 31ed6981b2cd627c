import pytest
import torch
import torch.nn.functional as F

from inference.pooling import adaptive_bins, descriptor_windows, uniform_window


@pytest.mark.parametrize("size,level", [(7, 1), (7, 2), (7, 3), (8, 2), (6, 3)])
def test_uniform_window_equals_adaptive_max_pool(size, level):
    x = torch.randn(2, 5, size, size)
    w = uniform_window(size, level)
    assert torch.equal(F.max_pool2d(x, w.window, w.stride), F.adaptive_max_pool2d(x, level))


def test_descriptor_windows_for_224px():
    assert [(w.window, w.stride) for w in descriptor_windows(7)] == [(7, 1), (4, 3), (3, 2)]


def test_non_uniform_bins_rejected():
    assert adaptive_bins(7, 4) == [(0, 2), (1, 4), (3, 6), (5, 7)]
    with pytest.raises(ValueError):
        uniform_window(7, 4)
    with pytest.raises(ValueError):
        adaptive_bins(3, 4)
