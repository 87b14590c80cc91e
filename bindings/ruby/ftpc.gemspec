# frozen_string_literal: true

# gem build ftpc.gemspec && gem install ./ftpc-0.1.0.gem    (from bindings/ruby)
#
# A pure-Ruby gem (ruby-ffi): it loads the installed C library (libftpc.so.0.1, see the
# top-level README) at `require 'ftpc'`. The version follows the C library's
# (Cargo.toml); scripts/test-packaging.sh checks that they agree.
Gem::Specification.new do |spec|
  spec.name = 'ftpc'
  spec.version = '0.1.0'
  spec.summary = "Ruby binding of ftpc, an FTP/FTPS client library with Python ftplib's interface"
  spec.description = <<~DESC
    FTP and FTPS (explicit and implicit) through the ftpc C library and ruby-ffi: ftplib's
    methods (retrbinary, storbinary, nlst, mlsd, ...), certificate verification on by
    default, aborts from another thread, errors named after ftplib's. Needs libftpc.so.0.1
    installed (cargo cinstall).
  DESC
  spec.authors = ['ftpc developers']
  spec.licenses = ['MIT', 'Apache-2.0']
  spec.required_ruby_version = '>= 3.0'
  spec.files = %w[lib/ftpc.rb test/test_ftpc.rb README.md]
  spec.require_paths = ['lib']
  spec.add_runtime_dependency 'ffi', '>= 1.15', '< 2'
  spec.add_development_dependency 'minitest', '>= 5.15', '< 6'
  spec.requirements << 'libftpc.so.0.1 (the ftpc C library, installed with cargo cinstall)'
  spec.metadata['rubygems_mfa_required'] = 'true'
end
