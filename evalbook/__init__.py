"""evalbook: 部门整体支出绩效评价工作簿的校验与评分."""

__version__ = "0.1.0"  # the one place: setup.cfg reads it (version = attr: evalbook.__version__)
