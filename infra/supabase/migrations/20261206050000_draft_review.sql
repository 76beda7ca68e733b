-- Drafts a person reviews before they go out (docs/review.md): approve, reject, edit.
--
-- posts.review: 'none' (never reviewed), 'approved', 'rejected' (final: a rejected draft is
-- never published, so never rewarded and never learned from). An edit keeps the generated
-- caption and stores the person's beside it; the decision records that a person changed the
-- post (decisions.edited), so learning and evaluation can tell those posts apart.
-- profiles.require_approval: this business's drafts are published only once approved.
alter table posts
  add column if not exists review text not null default 'none',
  add column if not exists reviewed_at timestamptz,
  add column if not exists edited_caption text,
  add column if not exists edited_at timestamptz;

alter table posts drop constraint if exists posts_review_check;
alter table posts add constraint posts_review_check check (
  review in ('none', 'approved', 'rejected')
  and (review = 'none') = (reviewed_at is null)
  and (edited_caption is null) = (edited_at is null)
  and (review <> 'rejected' or status = 'generated')
);

alter table decisions add column if not exists edited boolean not null default false;

alter table profiles add column if not exists require_approval boolean not null default false;
