"""Modules, layers, losses and initialisers; `import strided.nn as nn`."""
from . import init
from .module import Module, Parameter
