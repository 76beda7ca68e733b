output "function_urls" {
  description = "The functions' URLs (record_snapshot's goes into Supabase Vault as record_snapshot_url)."
  value       = local.function_url
}

output "tasks_service_account" {
  value = google_service_account.tasks.email
}

output "scheduler_service_account" {
  value = google_service_account.scheduler.email
}
