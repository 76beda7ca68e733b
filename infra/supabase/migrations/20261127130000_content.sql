-- Content of a post written by the LLM providers (docs/spec.md §8): the generator
-- prompt, where the content came from, and the image URL. A post is first
-- committed with its decision ('pending' when a provider will write the
-- content), the provider is called outside any transaction, and a second
-- transaction stores the result ('done') or the provider's refusal ('failed').

alter table posts
  add column generator_prompt text,
  add column content_status text not null default 'done'
    check (content_status in ('pending', 'done', 'failed')),
  add column content_source text check (content_source is null or length(content_source) <= 64),
  add column content_error text check (content_error is null or length(content_error) <= 1000),
  add column image_url text check (image_url is null or length(image_url) <= 2048),
  add column content_at timestamptz,
  add constraint posts_failed_has_error check (content_status <> 'failed' or content_error is not null);

create index posts_content_pending on posts (created_at) where content_status <> 'done';
