"""Views: tables, trees, plots and widgets, each a function of an Observation.

Views never talk to a runtime or the node; they only take plain data.
"""

from .cgroup_tree import cgroup_tree_figure, cgroup_tree_text
from .coloured_matrix import comparison_colours, sharing_colours
from .compare import cgroup_pattern, comparison
from .limits import limits_table
from .live import cpu_figure, cpu_lesson, memory_figure, memory_lesson
from .namespace_figures import namespace_boxes, namespace_boxes_by_kind
from .namespace_widget import namespace_boxes_widget
from .namespaces import namespace_table, sharing_labels, sharing_matrix
from .network import network_labels, network_table, network_text
from .tree_widget import cgroup_tree_widget

__all__ = [
    "cgroup_pattern",
    "cgroup_tree_figure",
    "cgroup_tree_text",
    "cgroup_tree_widget",
    "comparison",
    "comparison_colours",
    "cpu_figure",
    "cpu_lesson",
    "limits_table",
    "memory_figure",
    "memory_lesson",
    "namespace_boxes",
    "namespace_boxes_by_kind",
    "namespace_boxes_widget",
    "namespace_table",
    "network_labels",
    "network_table",
    "network_text",
    "sharing_colours",
    "sharing_labels",
    "sharing_matrix",
]
