-- Reliability (docs/spec.md §7): dead letters of Cloud Tasks. A task rejected at its
-- last attempt (the queue's max_attempts, TASKS_MAX_ATTEMPTS in the functions'
-- settings) leaves one row here, so a poison task is never dropped silently.
-- The local task runner keeps its dead letters in outbox rows ('dead').

create table dead_letters (
  dead_letter_id  bigint generated always as identity primary key,
  function        text not null check (function in ('generate_post', 'record_snapshot', 'compute_reward', 'update_policy')),
  queue           text not null check (length(queue) <= 200),
  task_name       text not null check (length(task_name) between 1 and 500),
  attempt         integer not null check (attempt >= 1),
  executions      integer not null check (executions >= 0),
  status          smallint not null check (status between 400 and 599),
  error           jsonb not null check (jsonb_typeof(error) = 'object'),
  body            text not null check (length(body) <= 4096),  -- the start of the body as received
  body_sha256     text not null check (body_sha256 ~ '^[0-9a-f]{64}$'),
  body_bytes      integer not null check (body_bytes >= 0),
  created_at      timestamptz not null,
  -- A final attempt delivered twice is one dead letter.
  unique (queue, task_name)
);
create index dead_letters_created on dead_letters (created_at desc);

-- Service-only, like the outbox: no policy for signed-in users.
alter table dead_letters enable row level security;
