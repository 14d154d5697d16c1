"""Plain-text tables (fund_common.texttable)."""

from fund_common.texttable import format_table, one_line


def test_columns_are_padded_and_aligned() -> None:
    text = format_table([[1, "abc"], [22, "d"]], ["ID", "NAME"], right=[0])
    assert text.splitlines() == ["ID  NAME", "--  ----", " 1  abc", "22  d"]


def test_indent_without_rule_and_cut_cells() -> None:
    text = format_table(
        [["x", "a\nlong   text here"]], ["t", "v"], indent="  ", rule=False, first_width=4, max_cell=8
    )
    assert text.splitlines() == ["  t     v", "  x     a long …"]
    assert one_line("a\n b", 10) == "a b"


def test_last_line() -> None:
    from fund_common.texttable import last_line

    assert last_line("a\n  b  \n\n") == "b"
    assert last_line("  \n") is None and last_line(None) is None
    assert last_line("x\n" + "y" * 10, limit=5) == "yyyy…"


def test_chinese_cells_count_two_columns_each() -> None:
    from fund_common.texttable import width

    assert (width("任务"), width("job"), width("（北京时间）"), width("e\u0301")) == (4, 3, 12, 1)
    text = format_table([["daily", "成功", 3], ["任务二", "failed", 12]], ["任务", "状态", "N"], right=[2])
    assert text.splitlines() == [
        "任务    状态     N",
        "------  ------  --",
        "daily   成功     3",
        "任务二  failed  12",
    ]
    assert [width(line) for line in text.splitlines()[:2]] == [18, 18]
    assert one_line("基金净值数据过期", 7) == "基金净…"
