# Secret values are added out of band (gcloud secrets versions add), never in Terraform state.
resource "google_secret_manager_secret" "secret" {
  for_each  = local.secrets
  secret_id = each.key
  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_iam_member" "function_access" {
  for_each  = { for pair in setproduct(keys(local.functions), keys(local.secrets)) : "${pair[0]}/${pair[1]}" => pair }
  secret_id = google_secret_manager_secret.secret[each.value[1]].id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.function[each.value[0]].email}"
}
