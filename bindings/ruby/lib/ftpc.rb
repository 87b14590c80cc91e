# frozen_string_literal: true

# Ruby binding of ftpc, an FTP/FTPS client library with a C ABI, through ruby-ffi
# (Debian: ruby-ffi). The shared library is loaded from $FTPC_LIBRARY when set, else as
# libftpc.so.0.1 (its SONAME) or libftpc.so through the dynamic linker's search path
# (LD_LIBRARY_PATH for a private prefix).
#
#   require 'ftpc'
#   Ftpc::Client.open('ftp.example.com', user: 'me', passwd: 'secret') do |ftp|
#     ftp.retrbinary('RETR big.iso') { |chunk| file.write(chunk) }
#     ftp.storbinary('STOR notes.txt', File.open('notes.txt', 'rb'))
#     ftp.nlst.each { |name| puts name }
#   end
#
# Method names follow Python's ftplib, whose model the library follows; failures raise
# Ftpc::Error subclasses named after ftplib's (ErrorReply, ErrorTemp, ErrorPerm, ErrorProto)
# and one per other ftpc status code.
require 'ffi'
require 'monitor'

module Ftpc
  # The C functions. Calls that may wait on the network release the GVL (blocking: true),
  # so other Ruby threads run meanwhile; their callbacks take it back.
  module Lib
    extend FFI::Library
    candidates = [ENV['FTPC_LIBRARY'], 'libftpc.so.0.1', 'libftpc.so', 'ftpc'].compact.reject(&:empty?)
    ffi_lib candidates

    typedef :pointer, :client
    callback :trace_cb, %i[pointer string], :void
    callback :line_cb, %i[pointer pointer size_t], :int
    callback :data_cb, %i[pointer pointer size_t], :int
    callback :read_cb, %i[pointer pointer size_t pointer], :int
    callback :walk_cb, %i[pointer pointer size_t pointer int], :int

    attach_function :ftp_version, [], :string
    attach_function :ftp_strerror, [:int], :string
    attach_function :ftp_new, [], :client
    attach_function :ftp_tls_new, [], :client
    attach_function :ftp_free, [:client], :void
    attach_function :ftp_getwelcome, [:client], :pointer
    attach_function :ftp_last_reply_code, [:client], :int
    attach_function :ftp_last_reply_text, [:client], :pointer
    attach_function :ftp_last_error, [:client], :pointer
    attach_function :ftp_is_connected, [:client], :int
    attach_function :ftp_is_tls, [:client], :int
    attach_function :ftp_cancel, [:client], :int
    attach_function :ftp_peer_address, %i[client pointer pointer], :int
    attach_function :ftp_local_address, %i[client pointer pointer], :int
    attach_function :ftp_set_debuglevel, %i[client int], :int
    attach_function :ftp_set_trace_callback, %i[client trace_cb pointer], :int
    attach_function :ftp_set_timeout_ms, %i[client int64], :int
    attach_function :ftp_set_connect_timeout_ms, %i[client int64], :int
    attach_function :ftp_set_data_connect_timeout_ms, %i[client int64], :int
    attach_function :ftp_set_accept_timeout_ms, %i[client int64], :int
    attach_function :ftp_set_data_timeout_ms, %i[client int64], :int
    attach_function :ftp_set_pasv, %i[client int], :int
    attach_function :ftp_set_tls_mode, %i[client int], :int
    attach_function :ftp_set_tls_verify, %i[client int], :int
    attach_function :ftp_set_tls_ca_file, %i[client string], :int
    attach_function :ftp_listing_free, [:pointer], :void
    attach_function :ftp_listing_count, [:pointer], :size_t
    attach_function :ftp_listing_get, %i[pointer size_t], :pointer
    attach_function :ftp_entry_name, %i[pointer pointer], :pointer
    attach_function :ftp_entry_fact_count, [:pointer], :size_t
    attach_function :ftp_entry_fact_at, %i[pointer size_t pointer pointer], :int
    attach_function :ftp_entry_type, [:pointer], :int
    attach_function :ftp_entry_size, [:pointer], :int64

    attach_function :ftp_connect, %i[client string uint16 int64 string], :int, blocking: true
    attach_function :ftp_login, %i[client string string string], :int, blocking: true
    attach_function :ftp_sendcmd, %i[client string pointer], :int, blocking: true
    attach_function :ftp_voidcmd, %i[client string pointer], :int, blocking: true
    attach_function :ftp_pwd, %i[client pointer], :int, blocking: true
    attach_function :ftp_mkd, %i[client string pointer], :int, blocking: true
    attach_function :ftp_cwd, %i[client string], :int, blocking: true
    attach_function :ftp_rmd, %i[client string], :int, blocking: true
    attach_function :ftp_delete, %i[client string], :int, blocking: true
    attach_function :ftp_rename, %i[client string string], :int, blocking: true
    attach_function :ftp_size, %i[client string pointer], :int, blocking: true
    attach_function :ftp_quit, [:client], :int, blocking: true
    attach_function :ftp_close, [:client], :int, blocking: true
    attach_function :ftp_abort, [:client], :int, blocking: true
    attach_function :ftp_mlsd, %i[client string string pointer], :int, blocking: true
    attach_function :ftp_retrbinary, %i[client string data_cb pointer size_t int64], :int, blocking: true
    attach_function :ftp_retrlines, %i[client string line_cb pointer], :int, blocking: true
    attach_function :ftp_storbinary, %i[client string read_cb pointer size_t data_cb int64], :int, blocking: true
    attach_function :ftp_storlines, %i[client string read_cb pointer data_cb], :int, blocking: true
    attach_function :ftp_walk, %i[client string int int walk_cb pointer pointer], :int, blocking: true
  end

  # ftpc.h status codes (fixed, never renumbered).
  OK = 0
  STATUS = {
    -1 => :REPLY, -2 => :TEMP, -3 => :PERM, -4 => :PROTO, -5 => :IO, -6 => :EOF, -7 => :TIMEOUT,
    -8 => :TLS, -9 => :CERTIFICATE, -10 => :INVALID_ARGUMENT, -11 => :LINE_TOO_LONG,
    -12 => :REPLY_TOO_LONG, -13 => :WRONG_STATE, -14 => :ENCODING, -15 => :NULL_ARGUMENT,
    -16 => :STOPPED, -17 => :BUSY, -18 => :PANIC, -19 => :TRUNCATED, -20 => :UNSUPPORTED,
    -21 => :NETRC
  }.freeze
  STATUS.each { |value, name| const_set("ERR_#{name}", value) }
  NO_REST = -1
  # ftp_walk flags and callback returns (ftpc.h).
  WALK_BREADTH_FIRST = 1
  WALK_FOLLOW_LINKS = 2
  WALK_USE_LIST = 4
  WALK_USE_MLSD = 8
  WALK_CONTINUE = 0
  WALK_SKIP = 1
  WALK_STOP = 2
  # ftp_entry_type (FTP_ENTRY_*) as MLSD's "type" fact, for entries without one (LIST).
  ENTRY_TYPES = { 1 => 'file', 2 => 'dir', 3 => 'link', 4 => 'cdir', 5 => 'pdir', 6 => 'other' }.freeze

  def self.version
    Lib.ftp_version
  end

  # The base of every error this binding raises.
  #   code:       the ftpc status code (Ftpc::ERR_PERM, ...)
  #   reply_code: the server's reply code (e.g. 530) when the error comes from a reply, else nil
  #   reply:      that reply's full text ("530 Login incorrect."), else nil
  #   message:    the library's description, with its cause
  class Error < StandardError
    attr_reader :code, :reply_code, :reply, :operation

    def initialize(message = nil, code: nil, reply_code: nil, reply: nil, operation: nil)
      super(message)
      @code = code
      @reply_code = reply_code
      @reply = reply
      @operation = operation
    end
  end

  # ftplib's four reply errors.
  class ErrorReply < Error; end # a reply, but not the one expected
  class ErrorTemp < Error; end  # 4xx
  class ErrorPerm < Error; end  # 5xx
  class ErrorProto < Error; end # a malformed reply

  # The other status codes.
  class ErrorIO < Error; end
  class ErrorEOF < Error; end
  class ErrorTimeout < Error; end
  class ErrorTLS < Error; end
  class ErrorCertificate < ErrorTLS; end
  class ErrorInvalidArgument < Error; end
  class ErrorLineTooLong < Error; end
  class ErrorReplyTooLong < Error; end
  class ErrorWrongState < Error; end
  class ErrorEncoding < Error; end
  class ErrorStopped < Error; end # Client#abort stopped a transfer
  class ErrorBusy < Error; end
  class ErrorPanic < Error; end
  class ErrorTruncated < Error; end
  class ErrorUnsupported < ErrorPerm; end # the server lacks the command: a 5xx, as for ftplib
  class ErrorNetrc < Error; end

  ERROR_CLASSES = {
    ERR_REPLY => ErrorReply, ERR_TEMP => ErrorTemp, ERR_PERM => ErrorPerm, ERR_PROTO => ErrorProto,
    ERR_IO => ErrorIO, ERR_EOF => ErrorEOF, ERR_TIMEOUT => ErrorTimeout, ERR_TLS => ErrorTLS,
    ERR_CERTIFICATE => ErrorCertificate, ERR_INVALID_ARGUMENT => ErrorInvalidArgument,
    ERR_LINE_TOO_LONG => ErrorLineTooLong, ERR_REPLY_TOO_LONG => ErrorReplyTooLong,
    ERR_WRONG_STATE => ErrorWrongState, ERR_ENCODING => ErrorEncoding,
    ERR_NULL_ARGUMENT => ErrorInvalidArgument, ERR_STOPPED => ErrorStopped, ERR_BUSY => ErrorBusy,
    ERR_PANIC => ErrorPanic, ERR_TRUNCATED => ErrorTruncated, ERR_UNSUPPORTED => ErrorUnsupported,
    ERR_NETRC => ErrorNetrc
  }.freeze
  # Errors whose cause is a server reply: only then is the handle's last reply theirs.
  FROM_REPLY = [ERR_REPLY, ERR_TEMP, ERR_PERM, ERR_PROTO, ERR_UNSUPPORTED].freeze

  # What the callbacks of one transfer share with the call.
  class Call # :nodoc:
    attr_accessor :exception, :jumped

    def initialize(client)
      @client = client
    end

    # Runs the user's code for a callback; 0 goes on, 1 stops the transfer. An exception
    # is kept for the caller to raise once the C call returned; a break/throw out of the
    # block (which cannot cross the C frames) is stopped here and ends the transfer.
    def guard
      return 1 if @exception || @jumped

      done = false
      begin
        yield
        done = true
      rescue Exception => e # rubocop:disable Lint/RescueException - re-raised after the call
        @exception = e
        return 1
      ensure
        unless done || @exception
          @jumped = true
          return 1 # rubocop:disable Lint/EnsureReturn - swallows the break, see above
        end
      end
      @client.stop_requested? ? 1 : 0
    end
  end

  # One FTP or FTPS session.
  class Client
    include MonitorMixin

    DEFAULT_BLOCKSIZE = 8192

    # Creates a client, connects, logs in when +user+ is given, yields it and closes it
    # (QUIT first) at the end of the block; without a block returns it.
    def self.open(host, port: 21, user: nil, passwd: nil, **options)
      ftp = new(**options)
      begin
        ftp.connect(host, port)
        ftp.login(user, passwd) if user
      rescue Exception # rubocop:disable Lint/RescueException
        ftp.close
        raise
      end
      return ftp unless block_given?

      begin
        yield ftp
      ensure
        begin
          ftp.quit if ftp.connected?
        rescue Error
          nil
        ensure
          ftp.close
        end
      end
    end

    # tls: explicit FTPS (login runs AUTH TLS, then PBSZ 0 + PROT P); implicit: TLS from
    # the first byte; ca_file: PEM CA certificates to trust instead of the system store;
    # verify: false turns certificate checks off; timeout: seconds, bounding every wait of
    # every call (connecting, each reply, data connections, TLS handshakes: a silent server
    # raises ErrorTimeout within it plus a short cleanup; 60 by default); passive: false
    # for active mode.
    def initialize(tls: false, implicit: false, ca_file: nil, verify: true, timeout: nil, passive: true)
      super()
      ptr = tls || implicit ? Lib.ftp_tls_new : Lib.ftp_new
      raise NoMemoryError, 'ftp_new' if ptr.null?

      @ptr = ptr
      @in_transfer = false
      @stop = false
      ObjectSpace.define_finalizer(self, self.class.finalizer(ptr))
      check(Lib.ftp_set_tls_mode(ptr, 2), 'implicit') if implicit
      check(Lib.ftp_set_tls_ca_file(ptr, ca_file.to_s), 'ca_file') if ca_file
      check(Lib.ftp_set_tls_verify(ptr, 0), 'verify') unless verify
      check(Lib.ftp_set_pasv(ptr, 0), 'passive') unless passive
      self.timeout = timeout if timeout
    end

    def self.finalizer(ptr) # :nodoc:
      proc { Lib.ftp_free(ptr) }
    end

    def timeout=(seconds)
      ms = (seconds * 1000).ceil
      raise ArgumentError, 'timeout must be positive' unless ms.positive?

      # The handle's one timeout; the per-wait overrides stay unset and follow it.
      check(Lib.ftp_set_timeout_ms(handle, ms), 'timeout')
    end

    def passive=(on)
      check(Lib.ftp_set_pasv(handle, on ? 1 : 0), 'passive')
    end

    # Debug trace to +io+ (default $stderr): level 1 commands and replies (passwords
    # masked), 2 also data connection events; 0 stops it.
    def set_debuglevel(level, io = $stderr)
      synchronize do
        @trace = FFI::Function.new(:void, %i[pointer string]) { |_ud, line| io.puts(line) }
        check(Lib.ftp_set_trace_callback(handle, @trace, nil), 'trace')
        check(Lib.ftp_set_debuglevel(handle, level), 'debuglevel')
      end
    end

    # Connects and returns the greeting.
    def connect(host, port = 21)
      run('connect') { |h| Lib.ftp_connect(h, host, port, 0, nil) }
      getwelcome
    end

    def getwelcome
      synchronize { text(Lib.ftp_getwelcome(handle)) }
    end
    alias welcome getwelcome

    def connected?
      !@ptr.nil? && synchronize { Lib.ftp_is_connected(@ptr) == 1 }
    end

    def tls?
      !@ptr.nil? && synchronize { Lib.ftp_is_tls(@ptr) == 1 }
    end

    # Logs in (anonymous when +user+ is nil or empty); returns the last reply.
    def login(user = nil, passwd = nil, acct = nil)
      run('login') { |h| Lib.ftp_login(h, user, passwd, acct) }
    end

    # Sends a command; returns the reply (1xx-3xx), raises for 4xx/5xx.
    def sendcmd(cmd)
      out_string(cmd) { |h, out| Lib.ftp_sendcmd(h, cmd, out) }
    end

    # Sends a command whose reply must be 2xx.
    def voidcmd(cmd)
      out_string(cmd) { |h, out| Lib.ftp_voidcmd(h, cmd, out) }
    end

    def pwd
      out_string('PWD') { |h, out| Lib.ftp_pwd(h, out) }
    end

    def mkd(dirname)
      out_string('MKD') { |h, out| Lib.ftp_mkd(h, dirname, out) }
    end

    def cwd(dirname)
      run('CWD') { |h| Lib.ftp_cwd(h, dirname) }
    end

    def rmd(dirname)
      run('RMD') { |h| Lib.ftp_rmd(h, dirname) }
    end

    def delete(filename)
      run('DELE') { |h| Lib.ftp_delete(h, filename) }
    end

    def rename(fromname, toname)
      run('rename') { |h| Lib.ftp_rename(h, fromname, toname) }
    end

    # The size from SIZE (send TYPE I first for byte counts), or nil when unknown.
    def size(filename)
      out = FFI::MemoryPointer.new(:int64)
      run('SIZE') { |h| Lib.ftp_size(h, filename, out) }
      value = out.read_int64
      value.negative? ? nil : value
    end

    # Binary download (TYPE I): yields each block (a binary String) and returns the final
    # reply; without a block returns the whole data. +rest+: start offset (REST).
    # A break out of the block stops the transfer (ABOR) and returns nil.
    def retrbinary(cmd, blocksize = DEFAULT_BLOCKSIZE, rest = nil, &block)
      unless block
        data = String.new(encoding: Encoding::BINARY)
        retrbinary(cmd, blocksize, rest) { |chunk| data << chunk }
        return data
      end
      transfer(cmd) do |h, call|
        cb = FFI::Function.new(:int, %i[pointer pointer size_t]) do |_ud, ptr, len|
          call.guard { block.call(ptr.read_bytes(len)) }
        end
        Lib.ftp_retrbinary(h, cmd, cb, nil, blocksize, rest.nil? ? NO_REST : Integer(rest))
      end
    end

    # Text transfer (TYPE A): yields each line without its end and returns the final
    # reply; without a block returns the lines.
    def retrlines(cmd, &block)
      unless block
        lines = []
        retrlines(cmd) { |line| lines << line }
        return lines
      end
      transfer(cmd) do |h, call|
        cb = FFI::Function.new(:int, %i[pointer pointer size_t]) do |_ud, ptr, len|
          call.guard { block.call(ptr.read_bytes(len).force_encoding(Encoding::UTF_8)) }
        end
        Lib.ftp_retrlines(h, cmd, cb, nil)
      end
    end

    # Binary upload of +io+ (anything with read(n)) until its end; yields each block sent.
    def storbinary(cmd, io, blocksize = DEFAULT_BLOCKSIZE, rest = nil, &block)
      store(cmd, io, block, binary: true, blocksize: blocksize, rest: rest)
    end

    # Text upload (TYPE A) of +io+: every line is sent with CRLF; yields each line sent.
    def storlines(cmd, io, &block)
      store(cmd, io, block, binary: false)
    end

    # The names NLST gives for +arg+ (nil: the current directory).
    def nlst(arg = nil)
      retrlines(arg ? "NLST #{arg}" : 'NLST')
    end

    # LIST lines, yielded or returned.
    def dir(arg = nil, &block)
      retrlines(arg ? "LIST #{arg}" : 'LIST', &block)
    end
    alias list dir

    # MLSD entries as [name, facts] pairs (fact names lower-cased), yielded or returned.
    # +facts+: the facts to ask for, e.g. %w[type size modify].
    def mlsd(path = nil, facts = nil)
      out = FFI::MemoryPointer.new(:pointer)
      facts_arg = facts && "#{facts.join(';')};"
      run('MLSD') { |h| Lib.ftp_mlsd(h, path, facts_arg, out) }
      entries = read_listing(out.read_pointer)
      return entries unless block_given?

      entries.each { |name, f| yield name, f }
    end

    # Walks the tree below +path+ (nil or '': the current directory) with ftp_walk and
    # yields each entry as it comes: |path, facts, depth|. +path+ is the root joined with
    # the names on the way by '/' (a binary-safe String, as the server sent the bytes,
    # tagged UTF-8 as mlsd's names), +facts+ a Hash as mlsd's (with 'type' and 'size' also
    # for LIST servers), +depth+ 1 for the root's entries. The block returning :skip keeps
    # the walk out of that directory; break (or an exception) ends the walk, the connection
    # staying usable. Without a block: the [path, facts, depth] triples as an Array.
    # Options: depth_first: (false: breadth-first), max_depth: (nil: no limit),
    # follow_links: (enter links to directories; MLSD only), use_list:/use_mlsd: (force the
    # listing command). Names that cannot be a path component are left out and counted in
    # #walk_refused.
    def walk(path = nil, depth_first: true, max_depth: nil, follow_links: false, use_list: false,
             use_mlsd: false, &block)
      unless block
        all = []
        walk(path, depth_first: depth_first, max_depth: max_depth, follow_links: follow_links,
                   use_list: use_list, use_mlsd: use_mlsd) { |*e| all << e }
        return all
      end
      raise ArgumentError, 'max_depth must be at least 1 (or nil)' if max_depth && max_depth < 1

      flags = (depth_first ? 0 : WALK_BREADTH_FIRST) | (follow_links ? WALK_FOLLOW_LINKS : 0) |
              (use_list ? WALK_USE_LIST : 0) | (use_mlsd ? WALK_USE_MLSD : 0)
      refused = FFI::MemoryPointer.new(:size_t)
      root = path.nil? || path.empty? ? nil : path
      transfer('walk') do |h, call|
        cb = FFI::Function.new(:int, %i[pointer pointer size_t pointer int]) do |_ud, ptr, len, entry, depth|
          answer = nil
          stop = call.guard do
            answer = block.call(ptr.read_bytes(len).force_encoding(Encoding::UTF_8), entry_facts(entry), depth)
          end
          if stop != 0
            WALK_STOP
          else
            answer == :skip ? WALK_SKIP : WALK_CONTINUE
          end
        end
        rc = Lib.ftp_walk(h, root, flags, max_depth || 0, cb, nil, refused)
        @walk_refused = refused.read(:size_t)
        rc
      end
      nil
    end

    # The number of names the last walk left out (not one path component, or a LIST line
    # no parser understood).
    attr_reader :walk_refused

    # With a transfer running (in another thread, or in this one's block): asks it to stop
    # after its current block; the transfer raises ErrorStopped and the connection stays
    # usable; returns nil. Otherwise sends ABOR (reply 426, 225 or 226) and returns the reply.
    def abort
      loop do
        if @in_transfer
          request_stop
          return nil
        end
        break if mon_try_enter

        sleep 0.01
      end
      begin
        if @in_transfer # from this thread's own block
          request_stop
          return nil
        end
        run('ABOR') { |h| Lib.ftp_abort(h) }
      ensure
        mon_exit
      end
    end

    def stop_requested? # :nodoc:
      @stop
    end

    # The server's address on the control connection: [host, port].
    def peer_address
      address('peer address') { |h, host, port| Lib.ftp_peer_address(h, host, port) }
    end

    # This side's address on the control connection: [host, port].
    def local_address
      address('local address') { |h, host, port| Lib.ftp_local_address(h, host, port) }
    end

    # Sends QUIT and closes the connection (also when the reply is an error).
    def quit
      run('QUIT') { |h| Lib.ftp_quit(h) }
    end

    # Closes the connection and frees the handle; the client cannot be used after.
    def close
      synchronize do
        return if @ptr.nil?

        ObjectSpace.undefine_finalizer(self)
        Lib.ftp_free(@ptr)
        @ptr = nil
      end
      nil
    end

    def closed?
      @ptr.nil?
    end

    private

    def handle
      raise ErrorWrongState.new('the client is closed', code: ERR_WRONG_STATE) if @ptr.nil?

      @ptr
    end

    def text(ptr)
      ptr.null? ? nil : ptr.read_string.force_encoding(Encoding::UTF_8)
    end

    def reply_text
      text(Lib.ftp_last_reply_text(handle))
    end

    def error_for(rc, operation)
      message = text(Lib.ftp_last_error(handle))
      message = Lib.ftp_strerror(rc) if message.nil? || message.empty?
      if FROM_REPLY.include?(rc)
        reply_code = Lib.ftp_last_reply_code(handle)
        reply = reply_text
      end
      klass = ERROR_CLASSES.fetch(rc, Error)
      klass.new(message, code: rc, reply_code: reply_code, reply: reply, operation: operation)
    end

    def check(rc, operation)
      raise error_for(rc, operation) unless rc == OK
    end

    # Runs the C call under the monitor; returns the last reply.
    def run(operation)
      synchronize do
        check(yield(handle), operation)
        reply_text
      end
    end

    # The flag covers the moment before the C call starts; ftp_cancel reaches the C loop
    # (the transfer holds the monitor, so the handle cannot be freed meanwhile).
    def request_stop
      @stop = true
      Lib.ftp_cancel(@ptr) unless @ptr.nil?
    end

    def address(operation)
      host = FFI::MemoryPointer.new(:pointer)
      port = FFI::MemoryPointer.new(:uint16)
      synchronize do
        check(yield(handle, host, port), operation)
        [text(host.read_pointer), port.read_uint16]
      end
    end

    def out_string(operation)
      out = FFI::MemoryPointer.new(:pointer)
      synchronize do
        check(yield(handle, out), operation)
        text(out.read_pointer) || ''
      end
    end

    def transfer(operation)
      call = Call.new(self)
      synchronize do
        @stop = false
        @in_transfer = true
        begin
          rc = yield(handle, call)
        ensure
          @in_transfer = false
        end
        raise call.exception if call.exception
        return nil if call.jumped

        check(rc, operation)
        reply_text
      end
    end

    def store(cmd, io, block, binary:, blocksize: 0, rest: nil)
      pending = String.new(encoding: Encoding::BINARY)
      transfer(cmd) do |h, call|
        reader = FFI::Function.new(:int, %i[pointer pointer size_t pointer]) do |_ud, buf, len, out_len|
          out_len.write(:size_t, 0)
          call.guard do
            pending << (binary ? io.read(len) : io.gets).to_s.b if pending.empty?
            chunk = pending.slice!(0, len)
            buf.put_bytes(0, chunk) unless chunk.empty?
            out_len.write(:size_t, chunk.bytesize)
          end
        end
        sent = if block
                 FFI::Function.new(:int, %i[pointer pointer size_t]) do |_ud, ptr, len|
                   call.guard { block.call(ptr.read_bytes(len)) }
                 end
               end
        if binary
          Lib.ftp_storbinary(h, cmd, reader, nil, blocksize, sent, rest.nil? ? NO_REST : Integer(rest))
        else
          Lib.ftp_storlines(h, cmd, reader, nil, sent)
        end
      end
    end

    def entry_facts(entry)
      key = FFI::MemoryPointer.new(:pointer)
      value = FFI::MemoryPointer.new(:pointer)
      facts = {}
      Lib.ftp_entry_fact_count(entry).times do |j|
        next if Lib.ftp_entry_fact_at(entry, j, key, value).zero?

        facts[text(key.read_pointer)] = text(value.read_pointer)
      end
      type = ENTRY_TYPES[Lib.ftp_entry_type(entry)]
      facts['type'] ||= type if type
      size = Lib.ftp_entry_size(entry)
      facts['size'] ||= size.to_s if size >= 0
      facts
    end

    def read_listing(listing)
      entries = []
      name_len = FFI::MemoryPointer.new(:size_t)
      key = FFI::MemoryPointer.new(:pointer)
      value = FFI::MemoryPointer.new(:pointer)
      Lib.ftp_listing_count(listing).times do |i|
        entry = Lib.ftp_listing_get(listing, i)
        name = Lib.ftp_entry_name(entry, name_len).read_bytes(name_len.read(:size_t))
        facts = {}
        Lib.ftp_entry_fact_count(entry).times do |j|
          next if Lib.ftp_entry_fact_at(entry, j, key, value).zero?

          facts[text(key.read_pointer)] = text(value.read_pointer)
        end
        entries << [name.force_encoding(Encoding::UTF_8), facts]
      end
      entries
    ensure
      Lib.ftp_listing_free(listing)
    end
  end
end
