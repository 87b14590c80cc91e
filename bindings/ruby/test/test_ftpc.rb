# frozen_string_literal: true

# Tests of the Ruby binding against the real servers of tests/servers/servers.sh.
# Run from bindings/ruby: source target/ftp-servers/env;
# LD_LIBRARY_PATH=PREFIX/lib ruby -Ilib test/test_ftpc.rb
require 'minitest/autorun'
require 'socket'
require 'stringio'
require 'ftpc'

ENV_KEYS = %w[FTPC_TEST_HOST FTPC_TEST_USER FTPC_TEST_PASS FTPC_VSFTPD_PORT FTPC_PUREFTPD_PORT
              FTPC_VSFTPD_TLS_PORT FTPC_VSFTPD_IMPLICIT_PORT FTPC_TEST_CA].freeze
missing = ENV_KEYS.reject { |k| ENV[k] }
abort "source target/ftp-servers/env first (missing #{missing.join(', ')})" unless missing.empty?

HOST = ENV.fetch('FTPC_TEST_HOST')
USER = ENV.fetch('FTPC_TEST_USER')
PASS = ENV.fetch('FTPC_TEST_PASS')

# Shared by the per-server test classes below: a logged-in client in a fresh directory.
module ServerTests
  def setup
    @ftp = Ftpc::Client.new(timeout: 20)
    @ftp.connect(HOST, port)
    @ftp.login(USER, PASS)
    @dir = "rb-#{Process.pid}-#{rand(1 << 30)}"
    @ftp.mkd(@dir)
    @ftp.cwd(@dir)
  end

  def teardown
    return if @ftp.closed?

    names.each do |name|
      begin
        @ftp.delete(name)
      rescue Ftpc::ErrorPerm
        @ftp.rmd(name)
      end
    end
    @ftp.cwd('..')
    @ftp.rmd(@dir)
    @ftp.quit
  ensure
    @ftp.close
  end

  def names(arg = nil)
    @ftp.nlst(arg).reject { |n| %w[. ..].include?(File.basename(n)) }.sort
  rescue Ftpc::ErrorPerm => e
    # bsd-ftpd answers NLST of an empty directory with "550 No files found.".
    raise unless e.message.include?('550 No files found')

    []
  end

  def data(size, seed)
    Random.new(seed).bytes(size)
  end

  def test_welcome_and_pwd
    assert_match(/\A220/, @ftp.getwelcome)
    assert @ftp.pwd.end_with?("/#{@dir}")
  end

  def test_bad_password
    ftp = Ftpc::Client.new
    ftp.connect(HOST, port)
    err = assert_raises(Ftpc::ErrorPerm) { ftp.login(USER, 'wrong') }
    assert_kind_of Ftpc::Error, err
    assert_equal Ftpc::ERR_PERM, err.code
    assert_equal 530, err.reply_code
    assert_match(/\A530 /, err.reply)
    assert_equal 'login', err.operation
    refute_empty err.message
  ensure
    ftp&.close
  end

  def test_reply_error_classes
    assert_raises(Ftpc::ErrorTemp) { @ftp.sendcmd('RETR ../hello.txt') } # 425: no data connection
    err = assert_raises(Ftpc::ErrorPerm) { @ftp.sendcmd('XYZZY') }
    assert_equal 500, err.reply_code
    err = assert_raises(Ftpc::ErrorReply) { @ftp.voidcmd("RNFR ../#{@dir}") }
    assert_equal 350, err.reply_code
    @ftp.sendcmd("RNTO ../#{@dir}")
    err = assert_raises(Ftpc::ErrorInvalidArgument) { @ftp.cwd("x\r\nDELE y") }
    assert_nil err.reply_code # nothing was sent, no reply belongs to it
    assert_match(/\A200/, @ftp.voidcmd('NOOP'))
    [Ftpc::ErrorReply, Ftpc::ErrorTemp, Ftpc::ErrorPerm, Ftpc::ErrorProto].each do |klass|
      assert_operator klass, :<, Ftpc::Error
    end
  end

  def test_retrbinary_storbinary_round_trip
    payload = data(300_001, 1)
    sent = []
    reply = @ftp.storbinary('STOR data.bin', StringIO.new(payload), 1000) { |block| sent << block }
    assert_match(/\A226/, reply)
    assert_equal payload, sent.join
    assert(sent.all? { |b| b.bytesize <= 1000 })
    chunks = []
    reply = @ftp.retrbinary('RETR data.bin', 4096) { |chunk| chunks << chunk }
    assert_match(/\A226/, reply)
    assert(chunks.all? { |c| c.bytesize <= 4096 && c.encoding == Encoding::BINARY })
    assert_equal payload, chunks.join
    assert_equal payload, @ftp.retrbinary('RETR data.bin')
    assert_equal payload.byteslice(12_345..), @ftp.retrbinary('RETR data.bin', 8192, 12_345)
    @ftp.voidcmd('TYPE I')
    assert_equal payload.bytesize, @ftp.size('data.bin')
  end

  def test_storlines_retrlines
    seen = []
    @ftp.storlines('STOR t.txt', StringIO.new("one\ntwo\r\nlast")) { |line| seen << line }
    assert_equal ["one\r\n", "two\r\n", "last\r\n"], seen
    assert_equal %w[one two last], @ftp.retrlines('RETR t.txt')
    lines = []
    @ftp.retrlines('RETR t.txt') { |l| lines << l }
    assert_equal %w[one two last], lines
  end

  def test_break_stops_the_transfer
    payload = data(2 << 20, 2)
    @ftp.storbinary('STOR big', StringIO.new(payload))
    blocks = 0
    result = @ftp.retrbinary('RETR big') do
      blocks += 1
      break :early if blocks == 2
    end
    assert_nil result
    assert_equal 2, blocks
    assert_equal payload, @ftp.retrbinary('RETR big') # the connection is in step
  end

  def test_exception_in_block_propagates
    @ftp.storbinary('STOR big', StringIO.new(data(1 << 20, 3)))
    assert_raises(ZeroDivisionError) { @ftp.retrbinary('RETR big') { |_| 1 / 0 } }
    reader = Object.new
    def reader.read(_len)
      raise IOError, 'disk gone'
    end
    assert_raises(IOError) { @ftp.storbinary('STOR x', reader) }
    assert_match(/\A200/, @ftp.voidcmd('NOOP'))
  end

  def test_abort_from_another_thread
    payload = data(4 << 20, 4)
    @ftp.storbinary('STOR big', StringIO.new(payload))
    got = 0
    aborter = Thread.new do
      sleep 0.3
      @ftp.abort
    end
    assert_raises(Ftpc::ErrorStopped) do
      @ftp.retrbinary('RETR big') do |chunk|
        got += chunk.bytesize
        sleep 0.005
      end
    end
    aborter.join
    assert_operator got, :>, 0
    assert_operator got, :<, payload.bytesize
    assert_equal payload, @ftp.retrbinary('RETR big')
    assert_match(/\A22[56]/, @ftp.abort) # nothing running: ftplib's ABOR
  end

  def test_addresses
    assert_equal [HOST, port], @ftp.peer_address
    host, local_port = @ftp.local_address
    assert_equal HOST, host
    refute_includes [0, port], local_port
  end

  def test_directories_and_files
    made = @ftp.mkd('sub')
    assert made.end_with?('sub')
    assert_match(/\A250/, @ftp.cwd('sub'))
    assert @ftp.pwd.end_with?("#{@dir}/sub")
    @ftp.cwd('..')
    @ftp.storbinary('STOR a', StringIO.new('aaa'))
    assert_equal %w[a sub], names
    assert_match(/\A250/, @ftp.rename('a', 'b'))
    assert_equal %w[b sub], names
    assert(@ftp.dir.any? { |line| line.end_with?(' b') })
    assert_match(/\A250/, @ftp.delete('b'))
    assert_raises(Ftpc::ErrorPerm) { @ftp.delete('b') }
    assert_match(/\A250/, @ftp.rmd('sub'))
    assert_empty names
  end

  def test_mlsd
    @ftp.storbinary('STOR f.bin', StringIO.new('x' * 1234))
    unless mlsd?
      err = assert_raises(Ftpc::ErrorPerm) { @ftp.mlsd }
      assert_kind_of Ftpc::ErrorUnsupported, err
      assert_equal Ftpc::ERR_UNSUPPORTED, err.code
      return
    end
    entries = @ftp.mlsd(nil, %w[type size]).to_h
    assert_equal 'file', entries['f.bin']['type']
    assert_equal '1234', entries['f.bin']['size']
    yielded = []
    @ftp.mlsd { |name, facts| yielded << [name, facts['type']] }
    assert_includes yielded, ['f.bin', 'file']
  end

  def make_tree
    @ftp.mkd('t')
    @ftp.mkd('t/a')
    @ftp.mkd('t/a/b')
    @ftp.mkd('t/empty')
    @ftp.storbinary('STOR t/a/b/deep.txt', StringIO.new('deep'))
    @ftp.storbinary('STOR t/with space.txt', StringIO.new('x' * 7))
  end

  def remove_tree
    @ftp.walk('t').reverse_each do |path, facts, _depth|
      facts['type'] == 'dir' ? @ftp.rmd(path) : @ftp.delete(path)
    end
    @ftp.rmd('t')
  end

  def test_walk
    make_tree
    got = []
    assert_nil(@ftp.walk('t') { |path, facts, depth| got << [path, facts, depth] })
    assert_equal [['t/a', 1], ['t/a/b', 2], ['t/a/b/deep.txt', 3], ['t/empty', 1], ['t/with space.txt', 1]],
                 got.map { |p, _f, d| [p, d] }.sort
    facts = got.to_h { |p, f, _d| [p, f] }
    assert_equal 'dir', facts['t/a/b']['type']
    assert_equal 'file', facts['t/with space.txt']['type']
    assert_equal '7', facts['t/with space.txt']['size']
    assert_equal 0, @ftp.walk_refused
    order = got.map(&:first)
    i = order.index('t/a')
    assert_equal ['t/a', 't/a/b', 't/a/b/deep.txt'], order[i, 3]
    # without a block: the triples; breadth-first: depths never go down
    depths = @ftp.walk('t', depth_first: false).map(&:last)
    assert_equal depths.sort, depths
    # max_depth
    assert_equal ['t/a', 't/empty', 't/with space.txt'], @ftp.walk('t', max_depth: 1).map(&:first).sort
    assert_equal ['t/a', 't/a/b', 't/empty', 't/with space.txt'], @ftp.walk('t', max_depth: 2).map(&:first).sort
    # :skip: t/a given, not entered
    seen = []
    @ftp.walk('t') do |path, _f, _d|
      seen << path
      :skip if path == 't/a'
    end
    assert_equal ['t/a', 't/empty', 't/with space.txt'], seen.sort
    # break ends the walk; the connection goes on
    seen = []
    @ftp.walk('t') do |path, _f, _d|
      seen << path
      break
    end
    assert_equal 1, seen.size
    assert_match(/\A200/, @ftp.voidcmd('NOOP'))
    # an exception in the block is raised by walk
    assert_raises(KeyError) { @ftp.walk('t') { |path, _f, _d| {}.fetch(path) } }
    assert_raises(Ftpc::ErrorPerm) { @ftp.walk('no-such-dir') { nil } }
  ensure
    remove_tree
  end

  def test_active_mode
    @ftp.passive = false
    payload = data(200_000, 5)
    @ftp.storbinary('STOR act', StringIO.new(payload))
    assert_equal payload, @ftp.retrbinary('RETR act')
  end

  def test_closed_client
    ftp = Ftpc::Client.new
    ftp.close
    ftp.close
    assert ftp.closed?
    assert_raises(Ftpc::ErrorWrongState) { ftp.pwd }
    refused = Ftpc::Client.new
    assert_raises(Ftpc::ErrorIO) { refused.connect(HOST, 1) }
  ensure
    refused&.close
  end

  def test_open_with_block
    result = Ftpc::Client.open(HOST, port: port, user: USER, passwd: PASS) do |ftp|
      @other = ftp
      ftp.pwd
    end
    refute_empty result
    assert @other.closed?
  end
end

class VsftpdTest < Minitest::Test
  include ServerTests

  def port = Integer(ENV.fetch('FTPC_VSFTPD_PORT'))
  def mlsd? = false
end

class PureFtpdTest < Minitest::Test
  include ServerTests

  def port = Integer(ENV.fetch('FTPC_PUREFTPD_PORT'))
  def mlsd? = true
end

class ProFtpdTest < Minitest::Test
  include ServerTests

  def port = Integer(ENV.fetch('FTPC_PROFTPD_PORT'))
  def mlsd? = true
end

class BsdFtpdTest < Minitest::Test
  include ServerTests

  def port = Integer(ENV.fetch('FTPC_BSDFTPD_PORT'))
  def mlsd? = false
end

class TLSTest < Minitest::Test
  CA = ENV.fetch('FTPC_TEST_CA')

  def round_trip(ftp)
    name = "rb-tls-#{Process.pid}-#{rand(1 << 30)}"
    payload = Random.new(9).bytes(700_000)
    ftp.storbinary("STOR #{name}", StringIO.new(payload))
    assert_equal payload, ftp.retrbinary("RETR #{name}")
    ftp.delete(name)
  end

  def test_explicit
    %w[FTPC_VSFTPD_TLS_PORT FTPC_PUREFTPD_PORT FTPC_PROFTPD_TLS_PORT].each do |key|
      Ftpc::Client.open(HOST, port: Integer(ENV.fetch(key)), user: USER, passwd: PASS,
                              tls: true, ca_file: CA, timeout: 20) do |ftp|
        assert ftp.tls?
        round_trip(ftp)
      end
    end
  end

  def test_implicit
    %w[FTPC_VSFTPD_IMPLICIT_PORT FTPC_PROFTPD_IMPLICIT_PORT].each do |key|
      Ftpc::Client.open(HOST, port: Integer(ENV.fetch(key)), user: USER, passwd: PASS,
                              implicit: true, ca_file: CA, timeout: 20) do |ftp|
        assert ftp.tls?
        round_trip(ftp)
      end
    end
  end

  def test_untrusted_certificate
    ftp = Ftpc::Client.new(tls: true)
    ftp.connect(HOST, Integer(ENV.fetch('FTPC_VSFTPD_TLS_PORT')))
    err = assert_raises(Ftpc::ErrorCertificate) { ftp.login(USER, PASS) }
    assert_kind_of Ftpc::ErrorTLS, err
  ensure
    ftp&.close
  end
end

class ThreadsTest < Minitest::Test
  def test_threads_each_with_a_client
    ports = [ENV.fetch('FTPC_VSFTPD_PORT'), ENV.fetch('FTPC_PUREFTPD_PORT')].map { |p| Integer(p) }
    threads = 6.times.map do |i|
      Thread.new do
        Ftpc::Client.open(HOST, port: ports[i % 2], user: USER, passwd: PASS, timeout: 30) do |ftp|
          name = "rb-par-#{Process.pid}-#{i}"
          payload = Random.new(100 + i).bytes((1 << 20) + i)
          ftp.storbinary("STOR #{name}", StringIO.new(payload))
          got = ftp.retrbinary("RETR #{name}")
          ftp.delete(name)
          got == payload
        end
      end
    end
    assert_equal [true] * 6, threads.map(&:value)
  end

  def test_trace
    out = StringIO.new
    ftp = Ftpc::Client.new
    ftp.set_debuglevel(1, out)
    ftp.connect(HOST, Integer(ENV.fetch('FTPC_VSFTPD_PORT')))
    ftp.login(USER, PASS)
    ftp.quit
    assert_includes out.string, '*cmd*'
    refute_includes out.string, PASS
  ensure
    ftp&.close
  end

  def test_version
    assert_match(/\A\d+\.\d+\.\d+/, Ftpc.version)
  end
end

# timeout: bounds every wait (issue 12): a call facing a server that falls silent raises
# ErrorTimeout within the timeout plus a short cleanup (1 s). Servers in this file.
class TimeoutTest < Minitest::Test
  # A server on 127.0.0.1 that falls silent on its first connection: greet false accepts
  # and never sends a byte; greet true answers the login, TYPE and EPSV/PASV (a second
  # listener), accepts the data connection, answers RETR with 150 and then sends nothing.
  def stall_server(greet:)
    @listener = TCPServer.new('127.0.0.1', 0)
    @data_listener = TCPServer.new('127.0.0.1', 0)
    @stalled = false
    @server = Thread.new { serve(greet) }
    @listener.addr[1]
  end

  def serve(greet)
    conn = @listener.accept
    return conn.read unless greet # never answers; ends when the client closes

    dport = @data_listener.addr[1]
    conn.write("220 hi\r\n")
    while (line = conn.gets)
      conn.write(
        case line[0, 4].upcase
        when 'USER' then "331 password please\r\n"
        when 'PASS' then "230 in\r\n"
        when 'TYPE' then "200 ok\r\n"
        when 'EPSV' then "229 Entering Extended Passive Mode (|||#{dport}|)\r\n"
        when 'PASV' then "227 Entering Passive Mode (127,0,0,1,#{dport >> 8},#{dport & 255})\r\n"
        when 'RETR'
          @data = @data_listener.accept
          @stalled = true
          "150 here it comes (not)\r\n"
        else "502 not here\r\n"
        end
      )
    end
  rescue IOError, SystemCallError
    nil
  ensure
    conn&.close
    @data&.close
  end

  def teardown
    @server&.join(10)
    @listener&.close
    @data_listener&.close
  end

  def assert_timeout_within(what, started)
    took = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
    assert took.between?(1.0, 2.0), format('%<what>s: ErrorTimeout after %<took>.3f s, want 1..2 s', what: what, took: took)
  end

  def test_silent_greeting
    port = stall_server(greet: false)
    ftp = Ftpc::Client.new(timeout: 1)
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    assert_raises(Ftpc::ErrorTimeout) { ftp.connect('127.0.0.1', port) }
    assert_timeout_within('connect', started)
  ensure
    ftp&.close
  end

  def test_silent_download
    port = stall_server(greet: true)
    ftp = Ftpc::Client.new(timeout: 1)
    ftp.connect('127.0.0.1', port)
    ftp.login('u', 'p')
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    assert_raises(Ftpc::ErrorTimeout) { ftp.retrbinary('RETR f') }
    assert_timeout_within('retrbinary', started)
    assert @stalled, 'the server sent its 150'
  ensure
    ftp&.close
  end
end
