output "project_id" {
  description = "The sandbox's project."
  value       = local.project_id
}

output "urls" {
  description = "Each fake's HTTPS base URL, by target: payment_processor, point_of_sale, push_provider."
  value       = { for fn in google_cloudfunctions2_function.fake : fn.build_config[0].entry_point => fn.service_config[0].uri }
}

output "function_urls" {
  description = "Each fake's cloudfunctions.net URL, by function name (what the subsystems call)."
  value       = { for name, fn in google_cloudfunctions2_function.fake : name => fn.url }
}

output "secrets_read" {
  description = "The secrets the fakes read, across projects: fake/SETTING => projects/<project>/secrets/<secret>."
  value       = { for key, s in local.fake_secrets : key => "projects/${s.project}/secrets/${s.secret}" }
}
