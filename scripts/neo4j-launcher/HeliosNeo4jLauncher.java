// Starts an embedded Neo4j 5 (community) DBMS for the test suite and keeps it up until killed.
//
// Used by scripts/services (compiled with javac against the jars that Maven resolved).
// Usage: java -cp <classes>:<jars> HeliosNeo4jLauncher <home-dir> <bolt-host> <bolt-port>
//
// Bolt listens on <bolt-host>:<bolt-port> only, authentication is disabled, all data lives in
// <home-dir> (the services script wipes it before each start). On success it prints
// "HELIOS-NEO4J-READY bolt://host:port" after a real query ran on the default database.
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;

public final class HeliosNeo4jLauncher {
    private HeliosNeo4jLauncher() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: HeliosNeo4jLauncher <home-dir> <bolt-host> <bolt-port>");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        String host = args[1];
        int port = Integer.parseInt(args[2]);
        Files.createDirectories(home);

        long started = System.nanoTime();
        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress(host, port))
                .setConfig(BoltConnector.advertised_address, new SocketAddress(host, port))
                .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                .setConfig(GraphDatabaseSettings.auth_enabled, false)
                .setConfig(GraphDatabaseSettings.pagecache_memory, 128L * 1024 * 1024)
                .setConfig(GraphDatabaseSettings.transaction_timeout, Duration.ofMinutes(5))
                .setConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
                .setConfig(GraphDatabaseSettings.keep_logical_logs, "false")
                .build();

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("HELIOS-NEO4J stopping");
            try {
                dbms.shutdown();
            } finally {
                stopped.countDown();
            }
        }, "helios-neo4j-shutdown"));

        GraphDatabaseService db = dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
        Object one = db.executeTransactionally("RETURN 1 AS one", java.util.Map.of(),
                result -> result.next().get("one"));
        if (!Long.valueOf(1L).equals(one)) {
            throw new IllegalStateException("unexpected answer to RETURN 1: " + one);
        }
        long ms = (System.nanoTime() - started) / 1_000_000;
        System.out.println("HELIOS-NEO4J-READY bolt://" + host + ":" + port + " (started in " + ms + " ms)");
        System.out.flush();
        stopped.await();
    }
}
