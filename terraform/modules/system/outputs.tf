output "projects" {
  description = "Each subsystem's project id."
  value       = { for name, sub in module.subsystem : name => sub.project_id }
}

output "endpoints" {
  description = "Public function URLs by subsystem and function: the BFF APIs and webhooks."
  value       = { for name, sub in module.subsystem : name => sub.endpoints }
}

output "service_accounts" {
  description = "Every function's runtime identity, by subsystem and function (for grants outside the system)."
  value       = { for name, sub in module.subsystem : name => sub.service_accounts }
}

output "settings" {
  description = "The plain settings in force, by subsystem (third-party URLs; smoke reads POS_URL)."
  value       = var.settings
}

output "lake_buckets" {
  description = "Each subsystem's event lake."
  value       = { for name, sub in module.subsystem : name => sub.lake_bucket }
}

output "secrets_to_fill" {
  description = "Secret Manager secrets that need a value: project => { secret id => setting }."
  value       = { for name, sub in module.subsystem : sub.project_id => sub.secret_ids }
}

output "ingress_subscriptions" {
  description = "The cross-project ingress subscriptions, by consumer/function."
  value       = { for key, bridge in module.bridge : key => bridge.subscription_id }
}

output "secret_ids" {
  description = "Each subsystem's Secret Manager secrets of its settings: name => { SETTING => secret id }."
  value = {
    for name, sub in module.subsystem : name => {
      for id, holds in sub.secret_ids : trimprefix(holds, "FOODDELIVERY_") => id if startswith(holds, "FOODDELIVERY_")
    }
  }
}
