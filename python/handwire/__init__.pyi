"""Type stubs of the handwire package (docs/python.md)."""
from os import PathLike
from typing import Any, Dict, List, Literal, Mapping, Optional, Sequence, Tuple, Union, overload

import numpy as np
import numpy.typing as npt

__version__: str

Inputs = Union[Sequence[Sequence[int]], npt.NDArray[np.integer]]
Features = Optional[Sequence[npt.ArrayLike]]
Record = Dict[str, Any]

class Error(Exception):
    """Base of handwire's errors."""

class SpecError(Error):
    """A spec, override or model file the compiler rejects; the message is the
    CLI's ``file:line:col: error: ...`` with the line and a caret."""

class RefusedError(Error):
    """A model whose certificate cannot hold (the CLI's exit 2)."""

class InternalError(Error):
    """A bug in handwire."""

class Model:
    """A compiled, certified model (handwire.compile or handwire.load)."""

    @property
    def name(self) -> str: ...
    @property
    def architecture(self) -> str: ...
    @property
    def precision(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def width(self) -> int: ...
    @property
    def parameters(self) -> int: ...
    @property
    def max_length(self) -> int: ...
    @property
    def token_count(self) -> int: ...
    @property
    def class_count(self) -> int: ...
    @property
    def feature_dim(self) -> int: ...
    @property
    def config(self) -> Dict[str, Any]: ...
    @property
    def task(self) -> Dict[str, Any]: ...
    @property
    def tokens(self) -> List[Dict[str, Any]]: ...
    @property
    def classes(self) -> List[Dict[str, Any]]: ...
    @property
    def input_layout(self) -> Dict[str, Any]: ...
    @property
    def certificate(self) -> Dict[str, Any]: ...
    @property
    def weights(self) -> Dict[str, npt.NDArray[Any]]: ...
    def logits(self, inputs: Inputs, features: Features = None, threads: int = 0,
               precision: Optional[str] = None) -> npt.NDArray[np.float64]: ...
    @overload
    def eval(self, inputs: Inputs, features: Features = None, threads: int = 0,
             precision: Optional[str] = None,
             return_logits: Literal[False] = False) -> npt.NDArray[np.int64]: ...
    @overload
    def eval(self, inputs: Inputs, features: Features = None, threads: int = 0,
             precision: Optional[str] = None, *, return_logits: Literal[True]
             ) -> Tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]: ...
    def evaluate(self, n: Optional[int] = None, seed: Optional[int] = None,
                 inputs: Optional[str] = None, threads: int = 0, backend: str = "auto",
                 precision: Optional[str] = None) -> Record: ...
    def generate(self, n: int, seed: Optional[int] = None,
                 kind: Optional[str] = None) -> Record: ...
    def ground_truth(self, tokens: Sequence[int],
                     features: Optional[npt.ArrayLike] = None) -> int: ...
    def report(self) -> str: ...
    def save(self, directory: str, format: str = "weights") -> List[str]: ...
    def to_torch(self) -> Any:
        """A torch.nn.Module (handwire.torch_module.HandwireModule)."""

def compile(spec: Union[str, PathLike], N: Optional[int] = None, model: Optional[str] = None,
            overrides: Optional[Union[Mapping[str, Any], Sequence[str]]] = None,
            precision: Optional[str] = None, allow_uncertified: bool = False,
            memory_limit: int = ...) -> Model: ...
def load(path: Union[str, PathLike], memory_limit: int = ...) -> Model: ...
def sweep(spec: Union[str, PathLike], lengths: Sequence[int], samples: int = 200,
          models: Optional[Sequence[str]] = None,
          overrides: Optional[Union[Mapping[str, Any], Sequence[str]]] = None,
          seed: Optional[int] = None, inputs: Optional[str] = None,
          time_budget: float = 10.0, jobs: int = 0, allow_uncertified: bool = False,
          memory_limit: int = ..., as_frame: bool = False) -> Any: ...
def set_threads(threads: int) -> None: ...
