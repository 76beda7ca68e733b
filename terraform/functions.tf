# The five functions (gen2), built from one source archive.
resource "google_cloudfunctions2_function" "fn" {
  for_each = local.functions
  name     = each.key
  location = var.region

  build_config {
    runtime     = "python311"
    entry_point = each.value.entry_point
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_memory               = each.value.memory
    max_instance_count             = var.max_instances
    timeout_seconds                = 60
    service_account_email          = google_service_account.function[each.key].email
    ingress_settings               = "ALLOW_ALL"
    all_traffic_on_latest_revision = true
    # A token for a task or a sweep must name the function's own URL: Cloud Run accepts no other.
    environment_variables = merge(
      local.environment, { OIDC_AUDIENCE = local.function_url[each.key] }, lookup(local.function_environment, each.key, {})
    )

    dynamic "secret_environment_variables" {
      for_each = { for key, pair in local.secret_mounts : pair.secret => local.secrets[pair.secret] if pair.function == each.key }
      content {
        key        = secret_environment_variables.value.setting
        project_id = var.project_id
        secret     = google_secret_manager_secret.secret[secret_environment_variables.key].secret_id
        version    = "latest"
      }
    }
  }

  depends_on = [google_secret_manager_secret_iam_member.function_access, google_secret_manager_secret_version.database_url]
}
