"""The report's measuring, one module per part: pure functions from results/ (and data/) to numbers, tables,
figures and snippets, each returning a `common.Section`. `report/build_assets.py` composes them."""
