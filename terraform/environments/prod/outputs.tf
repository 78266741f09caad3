output "projects" {
  description = "Each subsystem's project id."
  value       = module.system.projects
}

output "endpoints" {
  description = "Public function URLs by subsystem and function (the BFF APIs and webhooks)."
  value       = module.system.endpoints
}

output "settings" {
  description = "The plain settings in force, by subsystem."
  value       = module.system.settings
}

output "lake_buckets" {
  description = "Each subsystem's event lake bucket."
  value       = module.system.lake_buckets
}

output "secrets_to_fill" {
  description = "Secrets that need a value before the functions can start: project => { secret => setting }."
  value       = module.system.secrets_to_fill
}

output "ingress_subscriptions" {
  description = "Cross-project ingress subscriptions, by consumer/function."
  value       = module.system.ingress_subscriptions
}

output "region" {
  description = "Region of the functions and scheduler jobs (teardown looks there for what is left)."
  value       = var.region
}
