"""The query grammars (Lark): the only place search, ``_filter`` and text syntax is defined.

Shipped in the wheel as ``helios_persistence.grammar`` and read with
:func:`helios_persistence.assets.read_asset`.
"""
