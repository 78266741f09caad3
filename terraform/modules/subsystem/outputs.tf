output "project_id" {
  description = "The subsystem's project."
  value       = local.project_id
}

output "topic_ids" {
  description = "The subsystem's topics: short name => id."
  value       = { for name, topic in google_pubsub_topic.this : name => topic.id }
}

output "function_urls" {
  description = "Every function's URL, by function name."
  value       = { for name, fn in module.function : name => fn.url }
}

output "endpoints" {
  description = "The public functions (BFF APIs, webhooks) and their URLs."
  value       = { for name, fn in module.function : name => fn.url if var.functions[name].public }
}

output "service_accounts" {
  description = "Every function's runtime identity (service account email), by function name."
  value       = { for name, fn in module.function : name => fn.service_account_email }
}

output "push_service_account" {
  description = "The identity Pub/Sub signs push requests with (bridges use it too)."
  value       = google_service_account.invoker["push"].email
}

output "pubsub_service_agent" {
  description = "The project's Pub/Sub service agent (dead-lettering)."
  value       = local.pubsub_service_agent
}

output "lake_bucket" {
  description = "The bucket holding every bus event."
  value       = google_storage_bucket.lake.name
}

output "secret_ids" {
  description = "Secret Manager secrets waiting for their values: secret id => setting."
  value       = { for id, secret in google_secret_manager_secret.setting : id => secret.annotations["holds"] }
}
