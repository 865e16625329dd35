"""``bnnrepro data fetch`` and ``bnnrepro data info`` (command objects for :mod:`bnnrepro.cli`)."""

from __future__ import annotations

import argparse
import sys

from bnnrepro.errors import ConfigError


class Fetch:
    """``bnnrepro data fetch NAME...``: locate, verify and (if missing) download datasets."""

    help = "locate, verify and (if missing) download datasets"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from bnnrepro.data.registry import DATASETS

        parser.add_argument("names", nargs="*", metavar="NAME", help=", ".join(DATASETS))
        parser.add_argument("--data-dir", help="explicit data directory (default: $BNNREPRO_DATA, then the cache)")
        parser.add_argument("--offline", action="store_true", help="only look locally; fail instead of downloading")
        parser.add_argument("--quiet", action="store_true", help="no output except errors")

    def run(self, args: argparse.Namespace) -> int:
        from bnnrepro.data import fetch as fetch_files
        from bnnrepro.data import get_spec

        if not args.names:
            raise ConfigError("name at least one dataset, e.g. `bnnrepro data fetch fashion_mnist`")
        for name in args.names:
            spec = get_spec(name)
            for located in fetch_files(spec, args.data_dir, download=not args.offline, quiet=args.quiet).values():
                if not args.quiet:
                    print(f"{spec.name}: {located.path} ({located.source}, verified)")
        return 0


class Info:
    """``bnnrepro data info [NAME...]``: where each file is and whether it verifies; exit status 2
    if any file is corrupt."""

    help = "where each dataset's files are and whether they verify"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("names", nargs="*", metavar="NAME", help="datasets (default: all)")
        parser.add_argument("--data-dir", help="explicit data directory (default: $BNNREPRO_DATA, then the cache)")
        parser.add_argument("--no-verify", action="store_true", help="skip checksum verification (faster)")

    def run(self, args: argparse.Namespace) -> int:
        from bnnrepro.data import DATASETS, file_status, get_spec
        from bnnrepro.data.cache import entry_dir
        from bnnrepro.data.fetch import candidate_dirs

        specs = [get_spec(name) for name in args.names or DATASETS]
        corrupt = []
        for spec in specs:
            dirs = candidate_dirs(spec, args.data_dir)  # a missing --data-dir fails here, before any output
            print(
                f"{spec.name}: {spec.title} ({spec.train_size:,} train / {spec.test_size:,} test, "
                f"{'x'.join(map(str, spec.image_shape))}) <{spec.homepage}>"
            )
            print("  looked for in: " + ", ".join(f"{kind} {folder}" for kind, folder in dirs))
            for status in file_status(spec, args.data_dir, verify=not args.no_verify):
                print(f"  {status.name:<28} {status.describe()}")
                if status.state == "corrupt":
                    corrupt.append(str(status.path))
            parsed = entry_dir(spec)
            print(f"  parsed cache: {parsed} ({'built' if parsed.is_dir() else 'not built yet'})")
        if corrupt:
            print(
                f"bnnrepro data info: error: {len(corrupt)} corrupt file(s): {', '.join(corrupt)}; "
                "see the CORRUPT lines above for the fix",
                file=sys.stderr,
            )
            return 2
        return 0


fetch = Fetch()
info = Info()
