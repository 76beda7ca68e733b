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

variable "database_url" {
  description = "Postgres URL of the Supabase pooler (transaction mode, port 6543): postgresql://postgres.<ref>:<password>@<pooler-host>:6543/postgres"
  type        = string
  sensitive   = true
}

variable "configured_secrets" {
  description = "Optional secrets whose value has been added (gcloud secrets versions add), to mount: learner-webhook-secret, learner-webhook-secret-previous, learner-xai-api-key, learner-gemini-api-key, learner-supabase-service-role-key."
  type        = set(string)
  default     = []
  validation {
    condition = alltrue([for s in var.configured_secrets : contains([
      "learner-webhook-secret", "learner-webhook-secret-previous", "learner-xai-api-key",
      "learner-gemini-api-key", "learner-supabase-service-role-key",
    ], s)])
    error_message = "configured_secrets lists only optional secrets of locals.tf (the database URL is always mounted)."
  }
}

variable "operator_emails" {
  description = "Google accounts (people) who may open the dashboard of every business, with an ID token for the report function's URL. Business owners open their own with their Supabase login."
  type        = list(string)
  default     = []
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

variable "max_instances" {
  description = "Upper bound of instances per function."
  type        = number
  default     = 10
}
