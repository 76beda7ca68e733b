variable "project_id" {
  description = "Google Cloud project id."
  type        = string
}

variable "region" {
  description = "Region of the functions, queues and scheduler jobs."
  type        = string
  default     = "europe-west1"
}

variable "source_archive" {
  description = "Path of the archive built by `make bundle`."
  type        = string
  default     = "../dist/functions-source.zip"
}

variable "supabase_url" {
  description = "https://<project-ref>.supabase.co"
  type        = string
}

variable "sweep_schedule" {
  description = "Cron schedule of the sweep (due rewards, lost webhooks, undispatched tasks)."
  type        = string
  default     = "*/15 * * * *"
}

variable "tasks_max_attempts" {
  description = "Attempts per Cloud Task; the functions dead-letter a task rejected at the last one (TASKS_MAX_ATTEMPTS)."
  type        = number
  default     = 10
}

variable "oidc_audience" {
  description = "Audience that Cloud Tasks and Cloud Scheduler put in their OIDC tokens."
  type        = string
  default     = "learner-functions"
}

variable "max_instances" {
  description = "Upper bound of instances per function."
  type        = number
  default     = 10
}
