# Only the database URL's value passes through Terraform (var.database_url, sensitive; it is
# in the state, which must be kept private). The optional secrets' values are added out of
# band (gcloud secrets versions add) and mounted once listed in var.configured_secrets.
resource "google_secret_manager_secret" "secret" {
  for_each  = local.secrets
  secret_id = each.key
  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "database_url" {
  secret      = google_secret_manager_secret.secret["learner-database-url"].id
  secret_data = var.database_url
}

# Each function reads the secrets it uses, and no other.
resource "google_secret_manager_secret_iam_member" "function_access" {
  for_each  = local.secret_readers
  secret_id = google_secret_manager_secret.secret[each.value.secret].id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.function[each.value.function].email}"
}
