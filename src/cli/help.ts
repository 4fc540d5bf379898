export const COMMANDS = ["serve", "migrate", "demo", "sync", "jobs", "typesense-emulator"] as const;
export type CommandName = (typeof COMMANDS)[number];

const CONFIG_OPT = `  -c, --config FILE   YAML config (default: $ATHENA_TS_CONFIG or config/config.yaml);
                      \${VAR} and \${VAR:-default} are expanded from the environment
`;

export const HELP: Record<"main" | CommandName, string> = {
  main: `athena-typesense-sync: keep Typesense collections in step with Postgres tables

Usage: athena-typesense-sync <command> [options]

Commands:
  serve                 run the HTTP API, the scheduled sync worker and CDC streams
  migrate               apply pending control-database migrations (sql/NNN_*.sql)
  sync run <job-id>     run one full sync of a job now, in this process
  jobs export|plan|apply
                        backends and jobs as a YAML file kept in git
  demo                  embedded Postgres + embedded Typesense + sample data, all live
  typesense-emulator    run the embedded Typesense-compatible server

Run "athena-typesense-sync <command> --help" for a command's options.
`,
  serve: `Usage: athena-typesense-sync serve [--config FILE] [--no-migrate]

Serves the HTTP API (Athena's /typesense/* routes, control plane, /health,
/ready, /openapi.json), runs the scheduled full-sync worker and one CDC stream
per source client. Pending migrations are applied first (safe with several
instances: advisory lock) unless --no-migrate is given.
SIGTERM/SIGINT: stop HTTP intake, let the current window / CDC batch finish and
checkpoint, close pools, exit 0 within shutdown.drain_timeout_ms.

Options:
${CONFIG_OPT}      --no-migrate      do not apply pending migrations; refuse to start if any
  -h, --help            show this help
`,
  migrate: `Usage: athena-typesense-sync migrate [--config FILE | --database-url URL]

Applies sql/NNN_name.sql files in order, each in its own transaction, recorded
with a checksum in athena_ts_schema_migrations. Re-running is a no-op; a file
changed after it was applied stops the run; concurrent runs wait on an
advisory lock.

Options:
${CONFIG_OPT}      --database-url URL  migrate this database instead of control_database_url
  -h, --help            show this help
`,
  sync: `Usage: athena-typesense-sync sync run <job-id> [--config FILE]

Runs one full sync of the job in this process (same engine as the scheduler
and the HTTP run route): claims the job's lease, resumes an unfinished run at
its checkpoint or starts a new one, prints progress (a bar on a TTY), and
exits 0 on success, 1 on failure, 3 when another process holds the lease,
5 when CDC is enabled and another instance leads the job's source client
(its full syncs run there, bracketed by watermarks: use the HTTP run route).
With CDC enabled and no leader, the run holds the client's leadership lock
(the stream waits) and writes without watermarks.

Options:
${CONFIG_OPT}  -h, --help            show this help
`,
  jobs: `Usage: athena-typesense-sync jobs export [--file F]
       athena-typesense-sync jobs plan  --file F [--prune] [--detailed-exitcode]
       athena-typesense-sync jobs apply --file F [--prune]

Saved backends and sync jobs as a YAML file, for configuration kept in git
(docs/operations.md, "Declarative jobs").
  export  writes every backend and job (stdout, or --file); API keys are
          written as \${TYPESENSE_API_KEY_<NAME>} placeholders, never the key
  plan    prints what apply would change: + create, ~ update (each field
          before -> after), - delete; objects not in the file are listed and
          kept unless --prune
  apply   checks the whole file first (schema, \${VAR} keys, source tables),
          then writes it with the API's operations; a second apply changes
          nothing. A changed source, collection or backend retargets the job
          and queues its resync, as the API's PATCH does.
A backend is matched by name (renamed_from: its old name), a job by its
backend and collection_name (moved_from: its old ones). API keys must be
\${VAR} references: a literal key in the file is refused.
Exit codes: 0 ok, 1 failure, 2 usage or invalid file (file, line and field
named), 3 plan --detailed-exitcode: changes pending, 4 another apply runs.

Options:
${CONFIG_OPT}  -f, --file F          the jobs file
      --prune           delete backends and jobs the file does not list
      --detailed-exitcode
                        plan: exit 3 when there are changes (0 when none)
  -h, --help            show this help
`,
  demo: `Usage: athena-typesense-sync demo [--port N] [--rows N] [--no-writes]

Starts an embedded Postgres (wal_level=logical) and the embedded Typesense-
compatible server, creates a sample table, a backend and a CDC-enabled job,
runs the first sync, serves the API and console, and prints the console URL,
the admin key and a curl line for /typesense/search. Ctrl-C stops everything.

Options:
  -c, --config FILE     demo config (default: config/demo.yaml)
      --port N          HTTP port (default 8787)
      --rows N          sample rows (default 5000)
      --no-writes       do not write a small change every few seconds
  -h, --help            show this help
`,
  "typesense-emulator": `Usage: athena-typesense-sync typesense-emulator [--port P] [--api-key K]
                                          [--null-sink[=fast|validate]]

Runs the embedded Typesense-compatible server (Typesense v29 HTTP API as
documented in docs/emulator.md), in memory.

Options:
      --port P          listen port (default 8108; 0 = any free port)
      --host H          listen address (default 127.0.0.1)
      --api-key K       API key clients must send (default: a random key, printed)
      --null-sink       store nothing, answer imports like Typesense (benchmarks):
                        lines are scanned for their id, not parsed or validated
      --null-sink=validate
                        the same, but every line is parsed and validated
  -h, --help            show this help
`,
};
