"""devtools/tffmt.py: terraform fmt's layout rules (hclwrite's format.go) and the repository's Terraform."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.tffmt import main, problems

TERRAFORM = Path(__file__).resolve().parents[2] / "terraform"

CANONICAL = """\
# A module in terraform fmt's layout.
terraform {
  required_version = ">= 1.6"
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
  }
}

locals {
  names = { for name in keys(var.things) : name => "fn-${replace(name, "_", "-")}" }
  sizes = [for x in [1, 2, 3] : x * -2 if !var.off]
  empty = {}
  tags  = { env = "prod", team = var.team }
  first = var.list[0].id
  label = "a = b, c" # an "=" inside a string is no assignment

  # A comment line ends the run of aligned "=" above.
  environment = {
    AUTH_MODE = "enforce"
    URL       = "https://${var.region}-${var.project}.example/${local.name}"
  }
  long_name = 1
}

resource "google_storage_bucket" "source" {
  name     = "${var.project_id}-source" # trailing comments
  location = var.region                 # start in one column
  script   = <<-EOT
    echo "a = b"
  EOT

  force_destroy = true

  lifecycle_rule {
    condition {
      age = 30
    }
    action {
      type = "Delete"
    }
  }
  depends_on = [
    google_service_account.a,
    google_service_account.b,
  ]
  count = var.enabled ? 1 : 0
}
"""


def test_a_canonical_module_has_no_problems():
    assert problems(CANONICAL) == []


def test_nothing_and_blank_files_have_no_problems():
    assert problems("") == []
    assert problems("\n\n") == []


def test_the_repositorys_terraform_is_in_fmt_layout():
    files = sorted(TERRAFORM.glob("*.tf"))
    assert files
    assert {file.name: problems(file.read_text(encoding="utf-8")) for file in files} == {
        file.name: [] for file in files
    }


def test_make_lint_checks_the_terraform_folder(capsys):
    assert main([str(TERRAFORM)]) == 0
    assert capsys.readouterr().out == ""


# Indentation (formatIndent): two spaces per bracket left open by earlier lines.


def test_each_open_bracket_indents_the_following_lines_by_two_spaces():
    text = "a {\n    b = 1\n  c {\n  d = [\n      1,\n  ]\n  }\n}\n"
    assert problems(text) == [
        "line 2: indentation should be 2 spaces, found 4 spaces",
        "line 4: indentation should be 4 spaces, found 2 spaces",
        "line 6: indentation should be 4 spaces, found 2 spaces",
    ]


def test_a_closing_line_is_dedented_and_tabs_are_reported():
    assert problems("a {\n  b = 1\n  }\n") == ["line 3: indentation should be 0 spaces, found 2 spaces"]
    assert problems("a {\n\tb = 1\n}\n") == [
        "line 2: indentation should be 2 spaces, found '\\t' (tabs are never canonical)"
    ]


def test_comment_lines_are_indented_like_code_and_heredoc_text_is_left_alone():
    assert problems("a {\n# note\n  b = 1\n}\n") == ["line 2: indentation should be 2 spaces, found none"]
    heredoc = "a {\n  b = <<EOT\n      text   \n   EOT\n}\n"
    assert problems(heredoc) == []


# Alignment of "=" (formatCells): consecutive one-line assignments share a column.


def test_misaligned_equals_in_a_run_are_reported_per_line():
    text = "a {\n  short = 1\n  much_longer = 2\n  mid  = 3\n}\n"
    assert problems(text) == [
        "line 2: '=' not aligned with lines 2-4: expected 7 spaces before it, found 1 space",
        "line 4: '=' not aligned with lines 2-4: expected 9 spaces before it, found 2 spaces",
    ]


def test_an_assignment_alone_takes_one_space_before_its_equals():
    assert problems("a  = 1\n") == ["line 1: one space expected before '=', found 2 spaces"]


@pytest.mark.parametrize(
    "breaker",
    [
        pytest.param("\n", id="blank line"),
        pytest.param("  # a comment line\n", id="comment line"),
        pytest.param("  block {\n    x = 1\n  }\n", id="nested block"),
        pytest.param('  multi = [\n    "x",\n  ]\n', id="multi-line value"),
    ],
)
def test_runs_end_at_blank_comment_block_and_multi_line_lines(breaker):
    separately_aligned = "a {\n  a = 1\n" + breaker + "  longer = 2\n}\n"
    assert problems(separately_aligned) == []
    aligned_across = "a {\n  a      = 1\n" + breaker + "  longer = 2\n}\n"
    assert problems(aligned_across) == ["line 2: one space expected before '=', found 6 spaces"]


def test_a_heredoc_value_is_one_line_of_its_run():
    # format.go cuts lines at newline tokens; a heredoc's text is not one, so the run goes on.
    text = "a {\n  a   = 1\n  doc = <<EOT\nx = 1\nEOT\n  bcd = 2\n}\n"
    assert problems(text) == []
    assert problems(text.replace("  bcd = 2", "  bcdef = 2")) == [
        "line 2: '=' not aligned with lines 2-6: expected 5 spaces before it, found 3 spaces",
        "line 3: '=' not aligned with lines 2-6: expected 3 spaces before it, found 1 space",
    ]


def test_an_equals_inside_a_string_or_a_one_line_object_is_not_aligned():
    assert problems('a {\n  b = "x = y"\n  cc = { d = 1, eeee = 2 }\n}\n') == [
        "line 2: '=' not aligned with lines 2-3: expected 2 spaces before it, found 1 space"
    ]


# Alignment of trailing comments (formatCells).


def test_trailing_comments_of_consecutive_lines_share_a_column():
    aligned = 'a {\n  b    = 1   # one\n  cccc = "x" # two\n}\n'
    assert problems(aligned) == []
    assert problems(aligned.replace("1   #", "1 #")) == [
        "line 2: the trailing comment not aligned with lines 2-3: expected 3 spaces before it, found 1 space"
    ]
    assert problems("b = 1  # alone\n") == ["line 1: one space expected before the trailing comment, found 2 spaces"]


# Trailing whitespace.


def test_trailing_whitespace_after_code_and_on_blank_lines_is_reported():
    assert problems("a {\n  b = 1  \n  \n}\t\n") == [
        "line 2: trailing whitespace",
        "line 3: trailing whitespace",
        "line 4: trailing whitespace",
    ]


def test_spaces_ending_a_comment_are_its_text_which_fmt_keeps():
    assert problems("# note   \na = 1\n") == []


# Spaces between tokens (formatSpaces).


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a= 1\n", "line 1: one space expected before '=', found none"),
        ("a =1\n", "line 1: one space expected between '=' and '1', found none"),
        ("a = f( x)\n", "line 1: no space expected between '(' and 'x', found 1 space"),
        ("a = f (x)\n", "line 1: no space expected between 'f' and '(', found 1 space"),
        ("a = [1 , 2]\n", "line 1: no space expected between '1' and ',', found 1 space"),
        ("a = [1,2]\n", "line 1: one space expected between ',' and '2', found none"),
        ("a = {b = 1 }\n", "line 1: one space expected between '{' and 'b', found none"),
        ("a = { }\n", "line 1: no space expected between '{' and '}', found 1 space"),
        ("a = b. c\n", "line 1: no space expected between '.' and 'c', found 1 space"),
        ("a = b [0]\n", "line 1: no space expected between 'b' and '[', found 1 space"),
        ("a = - 1\n", "line 1: no space expected between '-' and '1', found 1 space"),
        ("a = b -1\n", "line 1: one space expected between '-' and '1', found none"),
        ("a = ! b\n", "line 1: no space expected between '!' and 'b', found 1 space"),
        ('a = "${ b}"\n', "line 1: no space expected between '${' and 'b', found 1 space"),
        ("a = b? c : d\n", "line 1: one space expected between 'b' and '?', found none"),
        ("a {\n  b = 1\n}\nc  {\n}\n", "line 4: one space expected between 'c' and '{', found 2 spaces"),
    ],
)
def test_each_spacing_rule_is_reported(text, problem):
    assert problems(text) == [problem]


def test_main_lists_the_problems_of_each_file_and_fails(tmp_path, capsys):
    (tmp_path / "good.tf").write_text("a = 1\n")
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "bad.tf").write_text("a= 1\n")
    assert main([str(tmp_path)]) == 1
    assert (
        capsys.readouterr().out
        == f"{tmp_path / 'nested' / 'bad.tf'}: line 1: one space expected before '=', found none\n"
    )
