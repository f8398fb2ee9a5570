"""The ``pulbench`` command. Subcommands live in their own modules and load on first use,
so ``pulbench --help`` stays fast and never imports torch."""

from __future__ import annotations

import importlib
import sys

import click

from pul_bench import __version__
from pul_bench.errors import PulBenchError, os_error

#: command name -> "module:attribute" of a click command
COMMANDS: dict[str, str] = {
    "trackers": "pul_bench.commands.trackers:trackers_cmd",
    "benchmarks": "pul_bench.commands.trackers:benchmarks_cmd",
    "eval": "pul_bench.commands.evaluate:eval_cmd",
    "score": "pul_bench.commands.evaluate:score_cmd",
    "submit": "pul_bench.commands.submit:submit_cmd",
    "compare": "pul_bench.commands.compare:compare_cmd",
    "bench": "pul_bench.commands.bench:bench_cmd",
    "export": "pul_bench.commands.export:export_cmd",
    "plot": "pul_bench.commands.plot:plot_cmd",
    "show": "pul_bench.commands.show:show_cmd",
    "vot-toolkit": "pul_bench.commands.vot_toolkit:vot_toolkit_cmd",
    "localise": "pul_bench.commands.localise:localise_cmd",
    "report": "pul_bench.commands.report:report_cmd",
    "train": "pul_train.cli:group",
}


class LazyGroup(click.Group):
    """A click group whose subcommands (``lazy_commands``: name -> "module:attr") are imported
    only when invoked or listed in --help."""

    def __init__(self, *args, lazy_commands: dict[str, str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands if lazy_commands is not None else COMMANDS

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.lazy_commands)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        ref = self.lazy_commands.get(name)
        if ref is None:
            return None
        module, _, attr = ref.partition(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pulbench")
def cli() -> None:
    """Evaluate and train single-object visual trackers: OTB (OPE/TRE/SRE), VOT2016-2019,
    LaSOT, UAV123, GOT-10k, TrackingNet and more, each by its official toolkit's rules, with
    95% intervals and paired tests; PUL unsupervised training (`pulbench train`).

    \b
    Real data defaults to $PULBENCH_DATA, else ../shared/data beside the checkout.
    Examples:
      pulbench trackers
      pulbench benchmarks
      pulbench eval otb kcf --root ../shared/data/sequences/otb
      pulbench score otb2015 ../shared/data/reference/otb/results/*
      pulbench compare otb2015 ../shared/data/reference/otb/results/{ATOM,KCF}
    """


def run_group(group: click.Group, argv: list[str] | None = None) -> None:
    """Run a click group so that user errors, and OS errors on the paths it reads or writes,
    print one line and exit 2, never a traceback."""
    try:
        group.main(args=argv, standalone_mode=False)
    except PulBenchError as e:
        click.secho(f"error: {e}", fg="red", err=True)
        sys.exit(2)
    except OSError as e:  # an output or cache path that cannot be written: say which and why
        click.secho(f"error: {os_error(e)}", fg="red", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)


def main(argv: list[str] | None = None) -> None:
    """Console entry point of ``pulbench``."""
    run_group(cli, argv)


if __name__ == "__main__":
    main()
