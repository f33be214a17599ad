"""Read the weights of dlib's face descriptor network (`dlib_face_recognition_resnet_model_v1.dat`, CC0)
straight from dlib's binary serialisation, so that the same network can be run by another engine.

Format (dlib/serialize.h, dlib/dnn/core.h, layers.h, input.h, tensor.h): integers are a length byte
(low nibble = number of bytes, bit 7 = negative) followed by little-endian bytes; strings are an integer
length and the bytes; float/double are an integer mantissa and an integer base-2 exponent; a bool is one
byte; a tensor is version 2, four integer dimensions and raw little-endian float32 values. A network is
written top down, each add_layer writing its version, then its sub-network, then its own layer details,
so that the layer details appear in the file in forward (input to output) order. Tag and skip layers
carry no data. Only the layer kinds of this network are understood; anything else is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


class DlibFormatError(ValueError):
    """The file is not the network this reader understands."""


@dataclass
class Layer:
    kind: str  # "con", "affine", "relu", "max_pool", "avg_pool", "add_prev", "fc"
    params: dict[str, object] = field(default_factory=dict)
    weights: np.ndarray | None = None
    bias: np.ndarray | None = None


@dataclass
class DlibNet:
    input_mean_rgb: tuple[float, float, float]
    input_size: tuple[int, int]
    layers: list[Layer]  # forward order
    loss: str


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise DlibFormatError("unexpected end of file")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def int(self) -> int:
        head = self.byte()
        n = head & 0x0F
        if n > 8 or head & 0x70:
            raise DlibFormatError(f"bad integer header 0x{head:02x} at {self.pos - 1}")
        value = int.from_bytes(self.data[self.pos : self.pos + n], "little")
        self.pos += n
        return -value if head & 0x80 else value

    def real(self) -> float:
        mantissa = self.int()
        exponent = self.int()
        return float(mantissa) * 2.0**exponent

    def string(self) -> str:
        n = self.int()
        s = self.data[self.pos : self.pos + n]
        self.pos += n
        return s.decode("ascii")

    def bool(self) -> bool:
        b = self.byte()
        if b not in (0x30, 0x31):  # dlib writes the characters '0' / '1'
            raise DlibFormatError(f"bad bool 0x{b:02x} at {self.pos - 1}")
        return b == 0x31

    def tensor(self) -> np.ndarray:
        version = self.int()
        if version != 2:
            raise DlibFormatError(f"unknown tensor version {version}")
        shape = tuple(self.int() for _ in range(4))
        count = int(np.prod(shape))
        end = self.pos + 4 * count
        values = np.frombuffer(self.data[self.pos : end], dtype="<f4").astype(np.float32)
        self.pos = end
        return values.reshape(shape)

    def alias(self) -> tuple[int, int, int, int]:
        if self.int() != 1:
            raise DlibFormatError("unknown alias_tensor version")
        n, k, r, c = (self.int() for _ in range(4))
        return n, k, r, c


def _layer_details(r: _Reader) -> Layer:
    name = r.string()
    if name == "con_4":
        params = r.tensor().reshape(-1)
        nf, nr, nc, sy, sx, py, px = (r.int() for _ in range(7))
        filt = r.alias()
        r.alias()  # biases
        for _ in range(4):
            r.real()  # learning-rate / weight-decay multipliers
        k = filt[1]
        w = params[: nf * k * nr * nc].reshape(nf, k, nr, nc)
        b = params[nf * k * nr * nc : nf * k * nr * nc + nf]
        return Layer("con", {"filters": nf, "kernel": (nr, nc), "stride": (sy, sx), "pad": (py, px)}, w, b)
    if name == "affine_":
        params = r.tensor().reshape(-1)
        gamma = r.alias()
        r.alias()  # beta
        mode = r.int()
        if mode != 0:
            raise DlibFormatError("only convolutional-mode affine layers are supported")
        n = int(np.prod(gamma))
        return Layer("affine", {}, params[:n].copy(), params[n : 2 * n].copy())
    if name == "relu_":
        return Layer("relu")
    if name in ("max_pool_2", "avg_pool_2"):
        nr, nc, sy, sx, py, px = (r.int() for _ in range(6))
        kind = "max_pool" if name.startswith("max") else "avg_pool"
        return Layer(kind, {"kernel": (nr, nc), "stride": (sy, sx), "pad": (py, px)})
    if name == "add_prev_":
        return Layer("add_prev")
    if name == "fc_2":
        n_out, n_in = r.int(), r.int()
        params = r.tensor().reshape(-1)
        r.alias()  # weights
        r.alias()  # biases
        has_bias = r.int() == 0  # dlib's FC_HAS_BIAS is 0, FC_NO_BIAS is 1
        for _ in range(4):
            r.real()
        w = params[: n_in * n_out].reshape(n_in, n_out)
        b = params[n_in * n_out : n_in * n_out + n_out] if has_bias else None
        return Layer("fc", {"outputs": n_out, "inputs": n_in}, w, b)
    raise DlibFormatError(f"unsupported dlib layer {name!r} at {r.pos}")


def _network(r: _Reader, layers: list[Layer]) -> tuple[tuple[float, float, float], tuple[int, int]]:
    """Parse one (sub-)network, appending its layers in forward order; returns the input layer's data."""
    version = r.int()
    if version == 1:  # tag / skip layer: nothing but the sub-network
        return _network(r, layers)
    if version == 2:  # add_layer over another layer
        inp = _network(r, layers)
    elif version == 3:  # add_layer directly over the input layer
        if r.string() != "input_rgb_image_sized":
            raise DlibFormatError("unsupported input layer")
        mean = (r.real(), r.real(), r.real())
        size = (r.int(), r.int())
        inp = (mean, size)
    else:
        raise DlibFormatError(f"unknown add_layer version {version} at {r.pos}")
    layers.append(_layer_details(r))
    r.bool()  # this_layer_setup_called
    r.bool()  # gradient_input_is_stale
    r.bool()  # get_output_and_gradient_input_disabled
    r.tensor()  # x_grad
    r.tensor()  # cached_output
    if version == 3:
        r.tensor()  # grad_final
        r.int()  # sample expansion factor
    else:
        r.tensor()  # params_grad
    return inp


def read_dlib_net(path: str | Path) -> DlibNet:
    """Parse the descriptor network; raises DlibFormatError on anything unexpected."""
    r = _Reader(Path(path).read_bytes())
    if r.int() != 1:
        raise DlibFormatError("unknown add_loss_layer version")
    loss = r.string()
    if loss != "loss_metric_2":
        raise DlibFormatError(f"unexpected loss layer {loss!r}")
    r.real()  # margin
    r.real()  # distance threshold
    layers: list[Layer] = []
    mean, size = _network(r, layers)
    if r.pos != len(r.data):
        raise DlibFormatError(f"{len(r.data) - r.pos} trailing bytes")
    return DlibNet(input_mean_rgb=mean, input_size=size, layers=layers, loss=loss)


__all__ = ["DlibFormatError", "DlibNet", "Layer", "read_dlib_net"]
