#!/usr/bin/env bash
# Deploy Lever to a cluster: optionally the program binary (Solana CLI), then the config and the
# markets of a declarative file (`lever deploy`, idempotent). See migrations/README.md.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: migrations/deploy.sh [options]

  -u, --url URL             cluster URL or moniker (devnet, mainnet-beta, localhost); default devnet
  -k, --keypair PATH        admin keypair: pays, signs, and becomes the config's admin on the
                            first run; default ~/.config/solana/id.json
  -f, --file PATH           deploy file; default migrations/markets.toml
      --program             also deploy the program binary (see --binary) with the Solana
                            CLI; skipped, with a message, if it is already deployed at its id
      --upgrade             deploy the binary even if the program exists (an upgrade; implies
                            --program; the keypair must be the upgrade authority)
      --program-keypair P   program keypair; default target/deploy/lever-keypair.json
      --binary PATH         program binary; default target/deploy/lever.so
      --skip-markets        stop after the program step
      --dry-run             print what would be done; change nothing
      --yes                 apply the plan without asking
      --json                print the plan and the results as JSON
  -h, --help                this help

Environment: LEVER=path/to/lever runs that binary instead of `cargo run --release --bin lever`.
EOF
}

die() {
    echo "deploy.sh: $*" >&2
    exit 1
}

URL=devnet
KEYPAIR="${HOME}/.config/solana/id.json"
FILE=migrations/markets.toml
PROGRAM=0
UPGRADE=0
MARKETS=1
DRY_RUN=0
PROGRAM_KEYPAIR=target/deploy/lever-keypair.json
PROGRAM_SO=target/deploy/lever.so
LEVER_ARGS=()

need_value() {
    [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value"
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        -u | --url) need_value "$@"; URL=$2; shift 2 ;;
        -k | --keypair) need_value "$@"; KEYPAIR=$2; shift 2 ;;
        -f | --file) need_value "$@"; FILE=$2; shift 2 ;;
        --program) PROGRAM=1; shift ;;
        --upgrade) PROGRAM=1; UPGRADE=1; shift ;;
        --program-keypair) need_value "$@"; PROGRAM_KEYPAIR=$2; shift 2 ;;
        --binary) need_value "$@"; PROGRAM_SO=$2; shift 2 ;;
        --skip-markets) MARKETS=0; shift ;;
        --dry-run) DRY_RUN=1; LEVER_ARGS+=("$1"); shift ;;
        --yes | --json) LEVER_ARGS+=("$1"); shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done

# Paths are relative to the repository root.
cd "$(dirname "${BASH_SOURCE[0]}")/.."

[[ -f $KEYPAIR ]] || die "no admin keypair at $KEYPAIR (solana-keygen new -o $KEYPAIR)"
[[ -f $FILE ]] || die "no deploy file at $FILE"

# The id the program (and the SDK, hence `lever deploy`) is built with.
DECLARED=$(sed -n 's/^declare_id!("\([1-9A-HJ-NP-Za-km-z]*\)");.*/\1/p' programs/lever/src/lib.rs)
[[ -n $DECLARED ]] || die "cannot read declare_id! from programs/lever/src/lib.rs"

have_solana() {
    command -v solana >/dev/null 2>&1
}

is_deployed() {
    solana program show "$1" -u "$URL" >/dev/null 2>&1
}

deploy_program() {
    [[ -f $PROGRAM_SO ]] || die "no $PROGRAM_SO: build it first (anchor build, or cargo build-sbf --manifest-path programs/lever/Cargo.toml)"
    if ((DRY_RUN)); then
        echo "dry run: would run: solana program deploy $PROGRAM_SO --program-id $PROGRAM_KEYPAIR -u $URL -k $KEYPAIR"
        return
    fi
    echo "deploying $PROGRAM_SO to $1 on $URL"
    solana program deploy "$PROGRAM_SO" --program-id "$PROGRAM_KEYPAIR" -u "$URL" -k "$KEYPAIR"
}

if ((PROGRAM)); then
    have_solana || die "the Solana CLI is not installed (https://solana.com/docs/intro/installation)"
    [[ -f $PROGRAM_KEYPAIR ]] || die "no program keypair at $PROGRAM_KEYPAIR: solana-keygen new -o $PROGRAM_KEYPAIR, then anchor keys sync and rebuild"
    PROGRAM_ID=$(solana-keygen pubkey "$PROGRAM_KEYPAIR")
    [[ $PROGRAM_ID == "$DECLARED" ]] ||
        die "the program keypair is $PROGRAM_ID but declare_id! says $DECLARED: run anchor keys sync, then rebuild the program and the CLI"
    if is_deployed "$PROGRAM_ID"; then
        if ((UPGRADE)); then
            deploy_program "$PROGRAM_ID"
        else
            echo "lever is already deployed at $PROGRAM_ID on $URL: skipping the program (pass --upgrade to replace it)"
        fi
    else
        deploy_program "$PROGRAM_ID"
    fi
elif have_solana; then
    if ! is_deployed "$DECLARED"; then
        if ((DRY_RUN)); then
            echo "note: lever is not deployed at $DECLARED on $URL (a real run needs --program first)"
        else
            die "lever is not deployed at $DECLARED on $URL: run again with --program"
        fi
    fi
else
    echo "note: no Solana CLI here, so the program at $DECLARED is not checked"
fi

((MARKETS)) || exit 0

# `lever deploy` plans from the chain, prints the plan, asks (unless --yes), then sends each step.
if [[ -n ${LEVER:-} ]]; then
    LEVER_CMD=("$LEVER")
else
    LEVER_CMD=(cargo run --quiet --release --bin lever --)
fi
exec "${LEVER_CMD[@]}" deploy "$FILE" -u "$URL" -k "$KEYPAIR" ${LEVER_ARGS[@]+"${LEVER_ARGS[@]}"}
