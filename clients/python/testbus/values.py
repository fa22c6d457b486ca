"""Conversions between plain Python data and the typed testbus.v1.Value, the
open maps (properties, metadata, config) carry, and loading YAML config."""

import datetime
import re

from .proto import ComponentConfig, Value, ValueList, ValueMap
from .status import Code, StatusError


def to_value(obj):
    """A Value holding obj: str, bool, int, float, bytes, list/tuple, dict."""
    v = Value()
    if isinstance(obj, bool):
        v.bool_value = obj
    elif isinstance(obj, int):
        v.int_value = obj
    elif isinstance(obj, float):
        v.double_value = obj
    elif isinstance(obj, str):
        v.string_value = obj
    elif isinstance(obj, (bytes, bytearray)):
        v.bytes_value = bytes(obj)
    elif isinstance(obj, (list, tuple)):
        v.list_value.SetInParent()
        for item in obj:
            v.list_value.values.append(to_value(item))
    elif isinstance(obj, dict):
        v.map_value.SetInParent()
        fill_value_map(v.map_value.fields, obj)
    elif isinstance(obj, (datetime.date, datetime.time)):
        v.string_value = obj.isoformat()
    elif obj is None:
        pass  # a Value with no kind set
    else:
        raise TypeError("cannot hold a %s in a Value" % type(obj).__name__)
    return v


def fill_value_map(target, data):
    """Stores the items of dict data into a map<string, Value> field."""
    for key, item in data.items():
        target[str(key)].CopyFrom(to_value(item))


def from_value(v):
    """The plain Python value a Value holds (None when it holds nothing)."""
    kind = v.WhichOneof("kind")
    if kind is None:
        return None
    if kind == "list_value":
        return [from_value(x) for x in v.list_value.values]
    if kind == "map_value":
        return value_map_to_dict(v.map_value.fields)
    return getattr(v, kind)


def value_map_to_dict(fields):
    """A dict from a map<string, Value> field."""
    return {k: from_value(fields[k]) for k in fields}


def dict_to_value_map(data):
    """A ValueMap message holding dict data."""
    m = ValueMap()
    fill_value_map(m.fields, data)
    return m


def list_to_value_list(items):
    """A ValueList message holding the items."""
    return ValueList(values=[to_value(x) for x in items])


def _yaml_loader():
    try:
        import yaml
    except ImportError:
        raise StatusError(Code.FAILED_PRECONDITION,
                          "reading YAML config needs the python3-yaml package") from None

    class Loader(yaml.SafeLoader):
        """YAML 1.2 core schema booleans (true/false only, not yes/no/on/off)."""

    bool_tag = "tag:yaml.org,2002:bool"
    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != bool_tag]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    Loader.add_implicit_resolver(bool_tag, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                 list("tTfF"))
    return yaml, Loader


def load_config_file(path):
    """Reads a component config file (YAML whose root is a mapping) into a
    ComponentConfig. Raises StatusError(INVALID_ARGUMENT) naming the file."""
    yaml, loader = _yaml_loader()
    try:
        with open(path, "r", encoding="utf-8") as f:
            data = yaml.load(f, Loader=loader)
    except OSError as e:
        raise StatusError(Code.INVALID_ARGUMENT, "%s: %s" % (path, e.strerror)) from None
    except yaml.YAMLError as e:
        raise StatusError(Code.INVALID_ARGUMENT, "%s: %s" % (path, e)) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise StatusError(Code.INVALID_ARGUMENT, "%s: the root must be a mapping" % path)
    cfg = ComponentConfig()
    try:
        fill_value_map(cfg.config, data)
    except TypeError as e:
        raise StatusError(Code.INVALID_ARGUMENT, "%s: %s" % (path, e)) from None
    return cfg
